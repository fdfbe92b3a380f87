#include "test.h"

TEST(placeholder_dotenv)
{
    CHECK(1);
}
