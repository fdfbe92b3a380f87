/* canon: placeholder until the module lands. */
#include "canon.h"
