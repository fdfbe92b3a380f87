#include "test.h"

TEST(placeholder_probe)
{
    CHECK(1);
}
