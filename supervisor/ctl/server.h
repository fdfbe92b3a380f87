/* server: the control socket of a running `tend up` (the protocol is in
 * ctl/client.h). It sits beside the manager on the same loop and sees it
 * only through run/manager.h: a ManagerObserver for what happens, views and
 * manager_act() for what clients ask. */
#pragma once

#include "run/manager.h"

/* Listens on the project's control socket (ctl_socket_path) for as long as
 * m runs, and keeps the last lines of every service for `tend logs`. Call
 * before manager_run(). 0; -EADDRINUSE when another tend runs the project;
 * another negative errno when the socket could not be made (both said on
 * m's output; the run goes on without a socket). */
int ctl_server_attach(Manager *m);
