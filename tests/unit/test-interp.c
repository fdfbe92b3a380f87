#include "test.h"

TEST(placeholder_interp)
{
    CHECK(1);
}
