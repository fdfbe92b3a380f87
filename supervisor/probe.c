/* probe: placeholder until the module lands. */
#include "probe.h"
