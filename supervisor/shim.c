/* shim: placeholder until the module lands. */
#include "shim.h"
