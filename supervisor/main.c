/* main: placeholder until the CLI lands. */
#include <stdio.h>
int main(void)
{
    puts("tend");
    return 0;
}
