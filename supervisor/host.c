/* host: placeholder until the module lands. */
#include "host.h"
