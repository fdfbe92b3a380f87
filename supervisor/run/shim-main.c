/* tend-shim: the shim (shim.h) as a small program of its own. tend spawns it
 * for every host service; linking libc only, it starts in a fraction of the
 * time the full tend binary (with libcurl, libpq, hiredis) needs. */
#include "run/shim.h"
#include "lib/util.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc > 1 && streq(argv[1], "__shim"))
        return shim_main(argc - 1, argv + 1);
    fputs("tend-shim: started by tend for each host service; not meant to be run by hand\n", stderr);
    return 2;
}
