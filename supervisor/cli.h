/* cli: the commands that run a stack, one file each, called from main.c's
 * command table. Each returns the exit status. */
#pragma once

#include "config.h"

extern const char up_usage[];
int cmd_up(ConfigOptions *o, int argc, char **argv);

extern const char down_usage[];
int cmd_down(ConfigOptions *o, int argc, char **argv);

extern const char stop_usage[], start_usage[], restart_usage[];
int cmd_stop(ConfigOptions *o, int argc, char **argv);
int cmd_start(ConfigOptions *o, int argc, char **argv);
int cmd_restart(ConfigOptions *o, int argc, char **argv);

extern const char run_usage[];
int cmd_run(ConfigOptions *o, int argc, char **argv);

extern const char seed_usage[];
int cmd_seed(ConfigOptions *o, int argc, char **argv);

extern const char watch_usage[];
int cmd_watch(ConfigOptions *o, int argc, char **argv);

extern const char exec_usage[];
int cmd_exec(ConfigOptions *o, int argc, char **argv);

extern const char env_usage[];
int cmd_env(ConfigOptions *o, int argc, char **argv);
