/* Unit tests for parse: durations, byte sizes, port and volume short
 * syntax, with the exact values and messages a user would see. */
#include <errno.h>
#include <stdint.h>

#include "load/parse.h"
#include "test.h"

/* ---- durations ---- */

static int64_t dur(const char *s)
{
    int64_t ns = -12345;
    int r = duration_parse(s, &ns);
    if (r < 0) {
        printf("#   duration_parse(\"%s\") failed: %d\n", s, r);
        return -12345;
    }
    return ns;
}

static int dur_err(const char *s)
{
    int64_t ns = -12345;
    int r = duration_parse(s, &ns);
    if (ns != -12345)
        printf("#   duration_parse(\"%s\") wrote its result on failure\n", s);
    return ns == -12345 ? r : 0;
}

TEST(duration_parses_each_unit)
{
    CHECK_INT(dur("1ns"), 1);
    CHECK_INT(dur("10us"), 10000);
    CHECK_INT(dur("10\xc2\xb5s"), 10000); /* micro sign */
    CHECK_INT(dur("10\xce\xbcs"), 10000); /* Greek mu */
    CHECK_INT(dur("500ms"), 500000000);
    CHECK_INT(dur("30s"), INT64_C(30000000000));
    CHECK_INT(dur("2m"), INT64_C(120000000000));
    CHECK_INT(dur("3h"), INT64_C(10800000000000));
}

TEST(duration_parses_combined_and_decimal)
{
    CHECK_INT(dur("1h2m3.5s"), INT64_C(3723500000000));
    CHECK_INT(dur("1.5h"), INT64_C(5400000000000));
    CHECK_INT(dur("1m30s"), INT64_C(90000000000));
    CHECK_INT(dur(".5s"), 500000000);
    CHECK_INT(dur("1.s"), 1000000000);
    CHECK_INT(dur("1.5us"), 1500);
    CHECK_INT(dur("0.1ns"), 0);
    CHECK_INT(dur("1s500ms"), 1500000000);
    CHECK_INT(dur("0"), 0);
    CHECK_INT(dur("0s"), 0);
    CHECK_INT(dur("2562047h47m16.854775807s"), INT64_MAX);
}

TEST(duration_rejects_bad_syntax)
{
    CHECK_INT(dur_err(""), -EINVAL);
    CHECK_INT(dur_err("-1s"), -EINVAL);
    CHECK_INT(dur_err("+1s"), -EINVAL);
    CHECK_INT(dur_err("-0"), -EINVAL);
    CHECK_INT(dur_err("10"), -EINVAL);
    CHECK_INT(dur_err("1s2"), -EINVAL);
    CHECK_INT(dur_err("1x"), -EINVAL);
    CHECK_INT(dur_err("1d"), -EINVAL);
    CHECK_INT(dur_err("1S"), -EINVAL);
    CHECK_INT(dur_err("s"), -EINVAL);
    CHECK_INT(dur_err(".s"), -EINVAL);
    CHECK_INT(dur_err("1.5.s"), -EINVAL);
    CHECK_INT(dur_err(" 1s"), -EINVAL);
    CHECK_INT(dur_err("1 s"), -EINVAL);
    CHECK_INT(dur_err("00"), -EINVAL);
}

TEST(duration_rejects_overflow)
{
    CHECK_INT(dur_err("2562047h47m16.854775808s"), -ERANGE);
    CHECK_INT(dur_err("3000000h"), -ERANGE);
    CHECK_INT(dur_err("9999999999999999999ns"), -ERANGE);
    CHECK_INT(dur_err("99999999999999999999ns"), -ERANGE);
    CHECK_INT(dur_err("2562047h2562047h"), -ERANGE);
}

static const char *fmt(int64_t ns)
{
    static char buf[40];
    duration_format(ns, buf);
    return buf;
}

TEST(duration_formats_like_go)
{
    CHECK_STR(fmt(0), "0s");
    CHECK_STR(fmt(1), "1ns");
    CHECK_STR(fmt(999), "999ns");
    CHECK_STR(fmt(1000), "1\xc2\xb5s");
    CHECK_STR(fmt(1500), "1.5\xc2\xb5s");
    CHECK_STR(fmt(1000000), "1ms");
    CHECK_STR(fmt(500000000), "500ms");
    CHECK_STR(fmt(1234567), "1.234567ms");
    CHECK_STR(fmt(1000000000), "1s");
    CHECK_STR(fmt(1500000000), "1.5s");
    CHECK_STR(fmt(INT64_C(90000000000)), "1m30s");
    CHECK_STR(fmt(INT64_C(3600000000000)), "1h0m0s");
    CHECK_STR(fmt(INT64_C(7384500000000)), "2h3m4.5s");
    CHECK_STR(fmt(INT64_C(360000000000000)), "100h0m0s");
    CHECK_STR(fmt(INT64_C(60000000001)), "1m0.000000001s");
    CHECK_STR(fmt(INT64_MAX), "2562047h47m16.854775807s");
    CHECK_STR(fmt(-1500000000), "-1.5s");
    CHECK_STR(fmt(INT64_MIN), "-2562047h47m16.854775808s");
}

static const char *roundtrip(const char *s)
{
    static char buf[40];
    int64_t ns;
    if (duration_parse(s, &ns) < 0)
        return "(parse failed)";
    duration_format(ns, buf);
    return buf;
}

TEST(duration_roundtrips_to_canonical_form)
{
    CHECK_STR(roundtrip("1m30s"), "1m30s");
    CHECK_STR(roundtrip("90s"), "1m30s");
    CHECK_STR(roundtrip("3600s"), "1h0m0s");
    CHECK_STR(roundtrip("1h"), "1h0m0s");
    CHECK_STR(roundtrip("1.5us"), "1.5\xc2\xb5s");
    CHECK_STR(roundtrip("1.5\xc2\xb5s"), "1.5\xc2\xb5s");
    CHECK_STR(roundtrip("1500ms"), "1.5s");
    CHECK_STR(roundtrip("0.5s"), "500ms");
    CHECK_STR(roundtrip("0"), "0s");
    CHECK_STR(roundtrip("2h3m4.5s"), "2h3m4.5s");
    CHECK_STR(roundtrip("1h2m3.5s"), "1h2m3.5s");
}

/* ---- byte sizes ---- */

static int64_t bytes(const char *s)
{
    int64_t b = -12345;
    int r = bytes_parse(s, &b);
    if (r < 0) {
        printf("#   bytes_parse(\"%s\") failed: %d\n", s, r);
        return -12345;
    }
    return b;
}

static int bytes_err(const char *s)
{
    int64_t b = -12345;
    int r = bytes_parse(s, &b);
    return b == -12345 ? r : 0;
}

TEST(bytes_parses_each_unit)
{
    CHECK_INT(bytes("0"), 0);
    CHECK_INT(bytes("1024"), 1024);
    CHECK_INT(bytes("1b"), 1);
    CHECK_INT(bytes("1B"), 1);
    CHECK_INT(bytes("100k"), 102400);
    CHECK_INT(bytes("100K"), 102400);
    CHECK_INT(bytes("2KiB"), 2048);
    CHECK_INT(bytes("2kb"), 2048);
    CHECK_INT(bytes("512m"), 536870912);
    CHECK_INT(bytes("512MB"), 536870912);
    CHECK_INT(bytes("1g"), 1073741824);
    CHECK_INT(bytes("1GiB"), 1073741824);
    CHECK_INT(bytes("1t"), INT64_C(1099511627776));
    CHECK_INT(bytes("1p"), INT64_C(1125899906842624));
    CHECK_INT(bytes("1 GB"), 1073741824);
}

TEST(bytes_parses_decimals)
{
    CHECK_INT(bytes("1.5g"), 1610612736);
    CHECK_INT(bytes("1.5GB"), 1610612736);
    CHECK_INT(bytes("0.5k"), 512);
    CHECK_INT(bytes(".5k"), 512);
    CHECK_INT(bytes("1.1g"), 1181116006);
    CHECK_INT(bytes("1.5"), 1);
    CHECK_INT(bytes("5."), 5);
    CHECK_INT(bytes("8191p"), INT64_C(9222246136947933184));
}

TEST(bytes_rejects_bad_input)
{
    CHECK_INT(bytes_err(""), -EINVAL);
    CHECK_INT(bytes_err("-1"), -EINVAL);
    CHECK_INT(bytes_err("-1k"), -EINVAL);
    CHECK_INT(bytes_err("abc"), -EINVAL);
    CHECK_INT(bytes_err("k"), -EINVAL);
    CHECK_INT(bytes_err("."), -EINVAL);
    CHECK_INT(bytes_err("1x"), -EINVAL);
    CHECK_INT(bytes_err("1bb"), -EINVAL);
    CHECK_INT(bytes_err("1kx"), -EINVAL);
    CHECK_INT(bytes_err("1kib2"), -EINVAL);
    CHECK_INT(bytes_err("1kb2"), -EINVAL);
    CHECK_INT(bytes_err("1m "), -EINVAL);
    CHECK_INT(bytes_err(" 1"), -EINVAL);
    CHECK_INT(bytes_err("1e3"), -EINVAL);
}

TEST(bytes_rejects_overflow)
{
    CHECK_INT(bytes_err("8192p"), -ERANGE);
    CHECK_INT(bytes_err("9223372036854775808"), -ERANGE);
    CHECK_INT(bytes_err("99999999999999999999"), -ERANGE);
    CHECK_INT(bytes_err("9007199254740992k"), -ERANGE);
    CHECK_INT(bytes("9223372036854775807"), INT64_MAX);
}

/* ---- ports ---- */

/* Parses s and renders every entry as "ip|published|target/proto" joined by
 * spaces, with "-" for a missing ip or published. */
static const char *ports(const char *s)
{
    static char out[512];
    PortSpec *p = NULL;
    size_t n = 0;
    char *err = NULL;
    if (port_parse_short(s, &p, &n, &err) < 0) {
        snprintf(out, sizeof out, "ERROR %s", err ? err : "(no message)");
        free(err);
        return out;
    }
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && w < sizeof out; i++)
        w += (size_t)snprintf(out + w, sizeof out - w, "%s%s|%s|%u/%s", i ? " " : "",
                              p[i].host_ip ? p[i].host_ip : "-",
                              p[i].published ? p[i].published : "-", p[i].target,
                              p[i].protocol ? p[i].protocol : "(null)");
    port_specs_free(p, n);
    return out;
}

TEST(port_short_forms)
{
    CHECK_STR(ports("80"), "-|-|80/tcp");
    CHECK_STR(ports("8080:80"), "-|8080|80/tcp");
    CHECK_STR(ports("127.0.0.1:8080:80"), "127.0.0.1|8080|80/tcp");
    CHECK_STR(ports("127.0.0.1::80"), "127.0.0.1|-|80/tcp");
    CHECK_STR(ports("[::1]:8080:80"), "::1|8080|80/tcp");
    CHECK_STR(ports("[::1]::80"), "::1|-|80/tcp");
    CHECK_STR(ports("[127.0.0.1]:8080:80"), "127.0.0.1|8080|80/tcp");
    CHECK_STR(ports(":80"), "-|-|80/tcp");
    CHECK_STR(ports("53:53/udp"), "-|53|53/udp");
    CHECK_STR(ports("53/UDP"), "-|-|53/udp");
    CHECK_STR(ports("9000/sctp"), "-|-|9000/sctp");
    CHECK_STR(ports("80/"), "-|-|80/tcp");
    CHECK_STR(ports("08080:080"), "-|8080|80/tcp");
    CHECK_STR(ports("65535:1"), "-|65535|1/tcp");
}

TEST(port_ranges_expand)
{
    CHECK_STR(ports("8000-8002:80-82"), "-|8000|80/tcp -|8001|81/tcp -|8002|82/tcp");
    CHECK_STR(ports("8000-8010:80"), "-|8000-8010|80/tcp");
    CHECK_STR(ports("80-82"), "-|-|80/tcp -|-|81/tcp -|-|82/tcp");
    CHECK_STR(ports("127.0.0.1:5000-5001:5000-5001/udp"),
              "127.0.0.1|5000|5000/udp 127.0.0.1|5001|5001/udp");
    CHECK_STR(ports("8000-8000:80"), "-|8000|80/tcp");
}

TEST(port_errors_are_exact)
{
    CHECK_STR(ports("8080:"), "ERROR invalid port \"8080:\": container port is missing");
    CHECK_STR(ports(""), "ERROR invalid port \"\": container port is missing");
    CHECK_STR(ports("/udp"), "ERROR invalid port \"/udp\": container port is missing");
    CHECK_STR(ports("[::1]:80"), "ERROR invalid port \"[::1]:80\": container port is missing");
    CHECK_STR(ports("abc"), "ERROR invalid port \"abc\": \"abc\" is not a port number");
    CHECK_STR(ports("0"), "ERROR invalid port \"0\": \"0\" is not a port number");
    CHECK_STR(ports("65536"), "ERROR invalid port \"65536\": \"65536\" is not a port number");
    CHECK_STR(ports("0:80"), "ERROR invalid port \"0:80\": \"0\" is not a port number");
    CHECK_STR(ports("x:80"), "ERROR invalid port \"x:80\": \"x\" is not a port number");
    CHECK_STR(ports("82-80"), "ERROR invalid port \"82-80\": \"82-80\" is not a port number");
    CHECK_STR(ports("80-"), "ERROR invalid port \"80-\": \"80-\" is not a port number");
    CHECK_STR(ports("-80"), "ERROR invalid port \"-80\": \"-80\" is not a port number");
    CHECK_STR(ports("127.0.0.1:80"),
              "ERROR invalid port \"127.0.0.1:80\": \"127.0.0.1\" is not a port number");
    CHECK_STR(ports("8000-8002:80-81"),
              "ERROR invalid port \"8000-8002:80-81\": port ranges do not match in length");
    CHECK_STR(ports("8080:80-82"),
              "ERROR invalid port \"8080:80-82\": port ranges do not match in length");
    CHECK_STR(ports("53:53/foo"), "ERROR invalid port \"53:53/foo\": unknown protocol \"foo\"");
    CHECK_STR(ports("53/TCP/x"), "ERROR invalid port \"53/TCP/x\": unknown protocol \"TCP/x\"");
    CHECK_STR(ports("1.2.3:8080:80"),
              "ERROR invalid port \"1.2.3:8080:80\": \"1.2.3\" is not an IP address");
    CHECK_STR(ports("localhost:8080:80"),
              "ERROR invalid port \"localhost:8080:80\": \"localhost\" is not an IP address");
    CHECK_STR(ports("::1:8080:80"),
              "ERROR invalid port \"::1:8080:80\": \"::1\" is not an IP address");
    CHECK_STR(ports("[::1x]:8080:80"),
              "ERROR invalid port \"[::1x]:8080:80\": \"[::1x]\" is not an IP address");
    CHECK_STR(ports("[]:8080:80"),
              "ERROR invalid port \"[]:8080:80\": \"[]\" is not an IP address");
    CHECK_STR(ports("[::1]8080:80"),
              "ERROR invalid port \"[::1]8080:80\": \"[::1]8080\" is not an IP address");
    CHECK_STR(ports("[::1:8080:80"),
              "ERROR invalid port \"[::1:8080:80\": \"[::1\" is not an IP address");
}

TEST(port_range_valid_checks_bounds)
{
    uint32_t lo = 0, hi = 0;
    CHECK(port_range_valid("80", &lo, &hi));
    CHECK_INT(lo, 80);
    CHECK_INT(hi, 80);
    CHECK(port_range_valid("8000-8010", &lo, &hi));
    CHECK_INT(lo, 8000);
    CHECK_INT(hi, 8010);
    CHECK(port_range_valid("1-65535", NULL, NULL));
    CHECK(port_range_valid("5-5", NULL, NULL));
    CHECK(!port_range_valid("0", NULL, NULL));
    CHECK(!port_range_valid("65536", NULL, NULL));
    CHECK(!port_range_valid("10-9", NULL, NULL));
    CHECK(!port_range_valid("", NULL, NULL));
    CHECK(!port_range_valid("-", NULL, NULL));
    CHECK(!port_range_valid("1-2-3", NULL, NULL));
    CHECK(!port_range_valid("+80", NULL, NULL));
    CHECK(!port_range_valid(" 80", NULL, NULL));
    CHECK(!port_range_valid("99999999999", NULL, NULL));
}

/* ---- volumes ---- */

static const char *type_name(VolumeType t)
{
    return t == VOLUME_BIND ? "bind" : t == VOLUME_VOLUME ? "volume" : "tmpfs";
}

/* Renders a parsed volume as "type source target flags" for one-line checks. */
static const char *vol(const char *s)
{
    static char out[512];
    VolumeSpec v = {0};
    char *err = NULL;
    if (volume_parse_short(s, &v, &err) < 0) {
        snprintf(out, sizeof out, "ERROR %s", err ? err : "(no message)");
        free(err);
        return out;
    }
    snprintf(out, sizeof out, "%s %s %s%s%s%s%s%s%s", type_name(v.type),
             v.source ? v.source : "-", v.target ? v.target : "(null)",
             v.read_only ? " ro" : "", v.selinux ? " selinux=" : "",
             v.selinux ? v.selinux : "", v.consistency ? " consistency=" : "",
             v.consistency ? v.consistency : "", v.nocopy ? " nocopy" : "");
    volume_spec_clear(&v);
    CHECK(v.source == NULL && v.target == NULL && v.selinux == NULL && !v.read_only);
    return out;
}

TEST(volume_short_forms)
{
    CHECK_STR(vol("/data"), "volume - /data");
    CHECK_STR(vol("db:/var/lib/x"), "volume db /var/lib/x");
    CHECK_STR(vol("./src:/app"), "bind ./src /app");
    CHECK_STR(vol("../src:/app"), "bind ../src /app");
    CHECK_STR(vol("~/x:/y:ro"), "bind ~/x /y ro");
    CHECK_STR(vol("/abs:/y:ro,z"), "bind /abs /y ro selinux=z");
    CHECK_STR(vol("/abs:/y:Z"), "bind /abs /y selinux=Z");
    CHECK_STR(vol("db:/d:nocopy"), "volume db /d nocopy");
    CHECK_STR(vol("/a:/b:rw"), "bind /a /b");
    CHECK_STR(vol("/a:/b:ro,rw"), "bind /a /b");
    CHECK_STR(vol("/a:/b:cached"), "bind /a /b consistency=cached");
    CHECK_STR(vol("/a:/b:delegated,ro"), "bind /a /b ro consistency=delegated");
    CHECK_STR(vol("/a:/b:consistent"), "bind /a /b consistency=consistent");
    CHECK_STR(vol("/"), "volume - /");
}

TEST(volume_errors_are_exact)
{
    CHECK_STR(vol("data"), "ERROR invalid volume \"data\": target must be an absolute path");
    CHECK_STR(vol("db:data"), "ERROR invalid volume \"db:data\": target must be an absolute path");
    CHECK_STR(vol("/data:ro"),
              "ERROR invalid volume \"/data:ro\": target must be an absolute path");
    CHECK_STR(vol("/a:/b:rx"), "ERROR invalid volume \"/a:/b:rx\": unknown mode \"rx\"");
    CHECK_STR(vol("/a:/b:ro,bogus"),
              "ERROR invalid volume \"/a:/b:ro,bogus\": unknown mode \"bogus\"");
    CHECK_STR(vol("/a:/b:"), "ERROR invalid volume \"/a:/b:\": unknown mode \"\"");
    CHECK_STR(vol("/a:/b:ro:x"), "ERROR invalid volume \"/a:/b:ro:x\": too many colons");
    CHECK_STR(vol("/a:/b::"), "ERROR invalid volume \"/a:/b::\": too many colons");
    CHECK_STR(vol(":/b"), "ERROR invalid volume \":/b\": empty source");
    CHECK_STR(vol("/a:"), "ERROR invalid volume \"/a:\": empty target");
    CHECK_STR(vol(""), "ERROR invalid volume \"\": empty target");
}
