#include "test.h"

TEST(placeholder_config)
{
    CHECK(1);
}
