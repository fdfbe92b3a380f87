#include "test.h"

TEST(placeholder_logmux)
{
    CHECK(1);
}
