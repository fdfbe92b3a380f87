/* parse: the small value syntaxes of the Compose format. Durations follow
 * Go's time.ParseDuration and Duration.String(), byte sizes docker's
 * units.RAMInBytes, and the port and volume short syntaxes the rules of
 * docker's nat.ParsePortSpec and compose-go's ParseVolume, made stricter
 * where those silently accept nonsense (unknown volume modes, port 0).
 * Everything here is pure: no I/O, no globals. */
#include "load/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define NS_US INT64_C(1000)
#define NS_MS INT64_C(1000000)
#define NS_S INT64_C(1000000000)
#define NS_M (INT64_C(60) * NS_S)
#define NS_H (INT64_C(60) * NS_M)

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ---- durations ---- */

static const struct {
    const char *name;
    uint64_t ns;
} duration_units[] = {
    {"ns", 1},
    {"us", NS_US},
    {"\xc2\xb5s", NS_US}, /* U+00B5 micro sign, as Go prints it */
    {"\xce\xbcs", NS_US}, /* U+03BC Greek mu, which Go accepts too */
    {"ms", NS_MS},
    {"s", NS_S},
    {"m", NS_M},
    {"h", NS_H},
};

/* The limit Go checks against: 1<<63, so that "-9223372036854775808ns"
 * would work with a sign. We reject signs, so the final check is INT64_MAX. */
#define DUR_LIMIT (UINT64_C(1) << 63)

/* Mirrors Go's ParseDuration step by step, including the way it drops
 * fraction digits that would overflow instead of failing on them. */
int duration_parse(const char *s, int64_t *ret_ns)
{
    if (!s || !*s)
        return -EINVAL;
    if (streq(s, "0")) {
        *ret_ns = 0;
        return 0;
    }
    uint64_t d = 0;
    while (*s) {
        if (!(*s == '.' || is_digit(*s)))
            return -EINVAL;

        /* [0-9]* */
        uint64_t v = 0;
        const char *p = s;
        for (; is_digit(*p); p++) {
            if (v > DUR_LIMIT / 10)
                return -ERANGE;
            v = v * 10 + (uint64_t)(*p - '0');
            if (v > DUR_LIMIT)
                return -ERANGE;
        }
        bool pre = p != s;

        /* (\.[0-9]*)? */
        uint64_t f = 0;
        double scale = 1;
        bool post = false;
        if (*p == '.') {
            p++;
            const char *q = p;
            bool overflow = false;
            for (; is_digit(*p); p++) {
                if (overflow)
                    continue;
                if (f > (DUR_LIMIT - 1) / 10) {
                    overflow = true;
                    continue;
                }
                uint64_t y = f * 10 + (uint64_t)(*p - '0');
                if (y > DUR_LIMIT) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = p != q;
        }
        if (!pre && !post)
            return -EINVAL;

        /* The unit runs up to the next digit or dot. */
        const char *u = p;
        while (*p && *p != '.' && !is_digit(*p))
            p++;
        size_t ulen = (size_t)(p - u);
        if (ulen == 0)
            return -EINVAL;
        uint64_t unit = 0;
        for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++)
            if (strlen(duration_units[i].name) == ulen &&
                memcmp(duration_units[i].name, u, ulen) == 0)
                unit = duration_units[i].ns;
        if (unit == 0)
            return -EINVAL;

        if (v > DUR_LIMIT / unit)
            return -ERANGE;
        v *= unit;
        if (f > 0) {
            /* Go uses float64 here to stay nanosecond-exact for fractions
             * of an hour; the product is at most 3.6e12. */
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > DUR_LIMIT)
                return -ERANGE;
        }
        d += v;
        if (d > DUR_LIMIT)
            return -ERANGE;
        s = p;
    }
    if (d > (uint64_t)INT64_MAX)
        return -ERANGE;
    *ret_ns = (int64_t)d;
    return 0;
}

/* Writes the fraction of v / 10^prec (".125") right-aligned ending before
 * *w, without trailing zeros, and returns v / 10^prec. Go's fmtFrac. */
static uint64_t fmt_frac(char *buf, size_t *w, uint64_t v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        char digit = (char)(v % 10);
        print = print || digit != 0;
        if (print)
            buf[--*w] = (char)('0' + digit);
        v /= 10;
    }
    if (print)
        buf[--*w] = '.';
    return v;
}

static void fmt_int(char *buf, size_t *w, uint64_t v)
{
    if (v == 0) {
        buf[--*w] = '0';
        return;
    }
    for (; v > 0; v /= 10)
        buf[--*w] = (char)('0' + v % 10);
}

/* Go's Duration.String(), built backwards from the end of a scratch buffer
 * exactly as Go does it, then moved to the front of buf. */
void duration_format(int64_t ns, char buf[static 40])
{
    char tmp[40];
    size_t w = sizeof(tmp);
    bool neg = ns < 0;
    uint64_t u = neg ? -(uint64_t)ns : (uint64_t)ns;

    tmp[--w] = '\0';
    if (u < (uint64_t)NS_S) {
        /* Below a second, a smaller unit: "1.2ms". */
        int prec = 0;
        tmp[--w] = 's';
        if (u == 0) {
            tmp[--w] = '0';
            memcpy(buf, tmp + w, sizeof(tmp) - w);
            return;
        } else if (u < (uint64_t)NS_US) {
            prec = 0;
            tmp[--w] = 'n';
        } else if (u < (uint64_t)NS_MS) {
            prec = 3;
            tmp[--w] = '\xb5';
            tmp[--w] = '\xc2';
        } else {
            prec = 6;
            tmp[--w] = 'm';
        }
        u = fmt_frac(tmp, &w, u, prec);
        fmt_int(tmp, &w, u);
    } else {
        tmp[--w] = 's';
        u = fmt_frac(tmp, &w, u, 9);
        /* u is now whole seconds. */
        fmt_int(tmp, &w, u % 60);
        u /= 60;
        if (u > 0) {
            tmp[--w] = 'm';
            fmt_int(tmp, &w, u % 60);
            u /= 60;
            /* Hours are the largest unit: days vary in length. */
            if (u > 0) {
                tmp[--w] = 'h';
                fmt_int(tmp, &w, u);
            }
        }
    }
    if (neg)
        tmp[--w] = '-';
    memcpy(buf, tmp + w, sizeof(tmp) - w);
}

/* ---- byte sizes ---- */

/* floor(num * 2^shift / den) for num < den <= 10^18, by binary long
 * division so that nothing overflows or rounds. */
static uint64_t scale_fraction(uint64_t num, uint64_t den, unsigned shift)
{
    uint64_t q = 0, r = num;
    for (unsigned i = 0; i < shift; i++) {
        r *= 2;
        q *= 2;
        if (r >= den) {
            r -= den;
            q++;
        }
    }
    return q;
}

/* RAMInBytes: a decimal number, optionally one space, then an optional
 * binary-unit suffix. Docker goes through a float64; we compute exactly, so
 * results can differ from docker's by one byte at petabyte scale. Fraction
 * digits past the 18th cannot matter for the whole bytes and are dropped. */
int bytes_parse(const char *s, int64_t *ret)
{
    if (!s)
        return -EINVAL;
    const char *p = s;
    uint64_t ip = 0, fnum = 0, fden = 1;
    bool overflow = false, digits = false;
    for (; is_digit(*p); p++) {
        digits = true;
        if (ip > (UINT64_MAX - 9) / 10)
            overflow = true;
        else
            ip = ip * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        p++;
        for (int k = 0; is_digit(*p); p++, k++) {
            digits = true;
            if (k < 18) {
                fnum = fnum * 10 + (uint64_t)(*p - '0');
                fden *= 10;
            }
        }
    }
    if (!digits)
        return -EINVAL;
    if (*p == ' ')
        p++;

    size_t len = strlen(p);
    unsigned shift = 0;
    if (len > 0) {
        char c[3] = {0};
        if (len > 3)
            return -EINVAL;
        for (size_t i = 0; i < len; i++)
            c[i] = ascii_lower(p[i]);
        if (c[0] == 'b') {
            if (len > 1)
                return -EINVAL;
        } else {
            static const char units[] = "kmgtp";
            const char *k = c[0] ? strchr(units, c[0]) : NULL;
            if (!k)
                return -EINVAL;
            shift = 10 * (unsigned)(k - units + 1);
            if (len == 2 && c[1] != 'b')
                return -EINVAL;
            if (len == 3 && !(c[1] == 'i' && c[2] == 'b'))
                return -EINVAL;
        }
    }

    if (overflow || ip > ((uint64_t)INT64_MAX >> shift))
        return -ERANGE;
    uint64_t total = ip << shift;
    uint64_t extra = scale_fraction(fnum, fden, shift);
    if (extra > (uint64_t)INT64_MAX - total)
        return -ERANGE;
    *ret = (int64_t)(total + extra);
    return 0;
}

/* ---- ports ---- */

/* One port number, 1..65535, decimal digits only. */
static bool port_number(const char *s, size_t len, uint32_t *ret)
{
    if (len == 0)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
        if (v > 65535)
            return false;
    }
    if (v == 0)
        return false;
    *ret = v;
    return true;
}

static bool port_range_validn(const char *s, size_t len, uint32_t *ret_lo, uint32_t *ret_hi)
{
    const char *dash = memchr(s, '-', len);
    uint32_t lo, hi;
    if (!dash) {
        if (!port_number(s, len, &lo))
            return false;
        hi = lo;
    } else {
        if (!port_number(s, (size_t)(dash - s), &lo) ||
            !port_number(dash + 1, len - (size_t)(dash - s) - 1, &hi) || lo > hi)
            return false;
    }
    if (ret_lo)
        *ret_lo = lo;
    if (ret_hi)
        *ret_hi = hi;
    return true;
}

bool port_range_valid(const char *s, uint32_t *ret_lo, uint32_t *ret_hi)
{
    return s && port_range_validn(s, strlen(s), ret_lo, ret_hi);
}

static bool ip_address_valid(const char *ip, bool bracketed)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, ip, addr) == 1)
        return true;
    /* IPv6 needs brackets: without them its colons read as separators. */
    return bracketed && inet_pton(AF_INET6, ip, addr) == 1;
}

_printf_(3, 4) static int port_error(char **ret_err, const char *s, const char *fmt, ...)
{
    if (ret_err) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *detail = xvasprintf(fmt, ap);
        va_end(ap);
        *ret_err = xasprintf("invalid port \"%s\": %s", s, detail);
    }
    return -EINVAL;
}

/* Splits "[IP:][HOST:]CONTAINER[/PROTO]" from the right, as docker's
 * splitParts does, except that an IP in brackets is taken whole first so
 * IPv6 colons do not count. Checks then run in docker's order: address,
 * container port, host port, range lengths, protocol. */
int port_parse_short(const char *s, PortSpec **ret, size_t *ret_n, char **ret_err)
{
    _cleanup_free_ char *ip = NULL, *host = NULL, *container = NULL, *proto = NULL;
    bool bracketed = false;
    const char *rest = s;

    if (!s)
        return -EINVAL;
    const char *close = s[0] == '[' ? strchr(s, ']') : NULL;
    if (close && close[1] == ':') {
        ip = xstrndup(s + 1, (size_t)(close - s - 1));
        bracketed = true;
        rest = close + 2;
        const char *colon = strchr(rest, ':');
        if (!colon)
            return port_error(ret_err, s, "container port is missing");
        host = xstrndup(rest, (size_t)(colon - rest));
        rest = colon + 1;
    } else if (close) {
        /* "[::1]8080:80": something follows the address without a colon. */
        const char *last = strrchr(s, ':');
        _cleanup_free_ char *tok = last && last > close ? xstrndup(s, (size_t)(last - s))
                                                        : xstrdup(s);
        return port_error(ret_err, s, "\"%s\" is not an IP address", tok);
    } else {
        const char *last = strrchr(s, ':');
        if (last) {
            const char *prev = last;
            while (prev > s && prev[-1] != ':')
                prev--;
            /* prev is the start of the host part; an IP precedes it. */
            host = xstrndup(prev, (size_t)(last - prev));
            if (prev > s)
                ip = xstrndup(s, (size_t)(prev - 1 - s));
            rest = last + 1;
        }
    }

    const char *slash = strchr(rest, '/');
    if (slash) {
        container = xstrndup(rest, (size_t)(slash - rest));
        proto = xstrdup(slash + 1);
    } else {
        container = xstrdup(rest);
    }

    if (bracketed ? !ip_address_valid(ip, true) : ip && *ip && !ip_address_valid(ip, false)) {
        _cleanup_free_ char *shown = bracketed ? xasprintf("[%s]", ip) : xstrdup(ip);
        return port_error(ret_err, s, "\"%s\" is not an IP address", shown);
    }
    if (!*container)
        return port_error(ret_err, s, "container port is missing");

    uint32_t lo, hi, hlo = 0, hhi = 0;
    if (!port_range_valid(container, &lo, &hi))
        return port_error(ret_err, s, "\"%s\" is not a port number", container);
    bool has_host = host && *host;
    if (has_host && !port_range_valid(host, &hlo, &hhi))
        return port_error(ret_err, s, "\"%s\" is not a port number", host);
    /* A host range with a single container port is a pool to pick from;
     * any other mismatch is an error. */
    if (has_host && hi - lo != hhi - hlo && lo != hi)
        return port_error(ret_err, s, "port ranges do not match in length");

    const char *protocol = "tcp";
    if (proto && *proto) {
        for (char *c = proto; *c; c++)
            *c = ascii_lower(*c);
        if (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp")) {
            /* Report the protocol as written, not lowered. */
            return port_error(ret_err, s, "unknown protocol \"%s\"", slash + 1);
        }
        protocol = proto;
    }

    size_t n = hi - lo + 1;
    PortSpec *specs = xcalloc(n, sizeof(PortSpec));
    for (size_t i = 0; i < n; i++) {
        PortSpec *p = &specs[i];
        p->target = lo + (uint32_t)i;
        p->protocol = xstrdup(protocol);
        if (ip && *ip)
            p->host_ip = xstrdup(ip);
        if (!has_host)
            continue;
        if (lo == hi && hlo != hhi)
            p->published = xasprintf("%u-%u", hlo, hhi);
        else
            p->published = xasprintf("%u", hlo + (uint32_t)i);
    }
    *ret = specs;
    *ret_n = n;
    return 0;
}

void port_specs_free(PortSpec *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++) {
        free(p[i].host_ip);
        free(p[i].published);
        free(p[i].protocol);
    }
    free(p);
}

/* ---- volumes ---- */

_printf_(3, 4) static int volume_error(char **ret_err, const char *s, const char *fmt, ...)
{
    if (ret_err) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *detail = xvasprintf(fmt, ap);
        va_end(ap);
        *ret_err = xasprintf("invalid volume \"%s\": %s", s, detail);
    }
    return -EINVAL;
}

/* Applies one comma-separated mode list to v. Later modes win over earlier
 * ones ("ro,rw" is read-write), as in compose-go. */
static int volume_modes(const char *s, const char *modes, VolumeSpec *v, char **ret_err)
{
    const char *p = modes;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        _cleanup_free_ char *m = xstrndup(p, len);
        if (streq(m, "ro"))
            v->read_only = true;
        else if (streq(m, "rw"))
            v->read_only = false;
        else if (streq(m, "z") || streq(m, "Z")) {
            free(v->selinux);
            v->selinux = xstrdup(m);
        } else if (streq(m, "cached") || streq(m, "delegated") || streq(m, "consistent")) {
            free(v->consistency);
            v->consistency = xstrdup(m);
        } else if (streq(m, "nocopy"))
            v->nocopy = true;
        else
            return volume_error(ret_err, s, "unknown mode \"%s\"", m);
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int volume_parse_short(const char *s, VolumeSpec *ret, char **ret_err)
{
    VolumeSpec v = {0};
    const char *part[3] = {0};
    size_t len[3] = {0};
    size_t n = 0;

    if (!s)
        return -EINVAL;
    for (const char *p = s;;) {
        const char *colon = strchr(p, ':');
        if (n == ARRAY_SIZE(part))
            return volume_error(ret_err, s, "too many colons");
        part[n] = p;
        len[n] = colon ? (size_t)(colon - p) : strlen(p);
        n++;
        if (!colon)
            break;
        p = colon + 1;
    }

    const char *target;
    size_t target_len;
    if (n == 1) {
        target = part[0];
        target_len = len[0];
    } else {
        if (len[0] == 0)
            return volume_error(ret_err, s, "empty source");
        target = part[1];
        target_len = len[1];
    }
    if (target_len == 0)
        return volume_error(ret_err, s, "empty target");
    if (target[0] != '/')
        return volume_error(ret_err, s, "target must be an absolute path");

    v.target = xstrndup(target, target_len);
    if (n >= 2) {
        v.source = xstrndup(part[0], len[0]);
        v.type = strchr("./~", v.source[0]) ? VOLUME_BIND : VOLUME_VOLUME;
    } else {
        v.type = VOLUME_VOLUME;
    }
    if (n == 3) {
        int r = volume_modes(s, part[2], &v, ret_err);
        if (r < 0) {
            volume_spec_clear(&v);
            return r;
        }
    }
    *ret = v;
    return 0;
}

void volume_spec_clear(VolumeSpec *v)
{
    if (!v)
        return;
    free(v->source);
    free(v->target);
    free(v->selinux);
    free(v->consistency);
    *v = (VolumeSpec){0};
}
