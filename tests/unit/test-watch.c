/* Tests of the inotify watcher (filled in below). */
#include "test.h"
#include "watch.h"
