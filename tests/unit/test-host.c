#include "test.h"

TEST(placeholder_host)
{
    CHECK(1);
}
