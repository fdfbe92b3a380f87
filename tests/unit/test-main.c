/* The TAP runner shared by the unit tests: runs every registered case, or
 * only those named on the command line. */
#include "test.h"

TestCase test_cases_[1024];
size_t test_count_;
bool test_failed_;

void test_register_(const char *name, void (*fn)(void))
{
    if (test_count_ < sizeof test_cases_ / sizeof test_cases_[0])
        test_cases_[test_count_++] = (TestCase){name, fn};
}

int main(int argc, char **argv)
{
    size_t failed = 0, run = 0;
    printf("TAP version 13\n");
    for (size_t i = 0; i < test_count_; i++) {
        if (argc > 1) {
            bool want = false;
            for (int a = 1; a < argc; a++)
                if (strcmp(argv[a], test_cases_[i].name) == 0)
                    want = true;
            if (!want)
                continue;
        }
        test_failed_ = false;
        test_cases_[i].fn();
        run++;
        printf("%s %zu - %s\n", test_failed_ ? "not ok" : "ok", run, test_cases_[i].name);
        fflush(stdout);
        if (test_failed_)
            failed++;
    }
    printf("1..%zu\n", run);
    return failed ? 1 : 0;
}
