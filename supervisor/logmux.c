/* logmux: placeholder until the module lands. */
#include "logmux.h"
