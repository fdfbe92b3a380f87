/* layer-check: an empty program that meson links with one layer and the
 * layers below it (supervisor/meson.build; this file sits beside
 * check-layers.py, which checks the includes and calls), so that the linker refuses a
 * call from a layer to one above it. It is never run. */
int main(void)
{
    return 0;
}
