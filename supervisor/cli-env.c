/* tend env: prints the environment tend gives a service (stub). */
#include "cli.h"
