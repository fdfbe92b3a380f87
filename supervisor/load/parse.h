/* parse: the small value syntaxes of the Compose format: durations, byte
 * sizes, and the short syntax of ports and volumes. Pure functions; errors
 * come back as a malloc'd message without location. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Go duration syntax as Compose uses it: "1h2m3.5s", "500ms", "10us", "1ns",
 * "0"; a sign is not allowed. Returns 0 or -EINVAL/-ERANGE. */
int duration_parse(const char *s, int64_t *ret_ns);
/* Formats like Go's time.Duration.String(): "1m30s", "500ms", "0s", "1h0m0s". */
void duration_format(int64_t ns, char buf[static 40]);

/* Byte sizes as docker's RAMInBytes reads them: "1024", "512m", "1g",
 * "1.5GB", "100k", "2KiB" (case-insensitive b/k/m/g/t/p, optional "b" or
 * "ib"). Returns 0 or -EINVAL/-ERANGE. */
int bytes_parse(const char *s, int64_t *ret);

/* One port mapping in long form. */
typedef struct PortSpec {
    char *host_ip;   /* NULL when not given */
    char *published; /* NULL, "8080" or a host range "8000-8010" */
    uint32_t target; /* container port */
    char *protocol;  /* "tcp" (default), "udp" or "sctp" */
} PortSpec;

/* Short syntax "[HOST_IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTO]", with
 * IPv6 host addresses in brackets ("[::1]:8080:80"). Equal-length ranges
 * expand into one entry per port; a container range without host ports
 * expands too; a host range with one container port stays one entry whose
 * published is the range. Returns 0 with a malloc'd array, or -EINVAL and
 * *ret_err. */
int port_parse_short(const char *s, PortSpec **ret, size_t *ret_n, char **ret_err);
void port_specs_free(PortSpec *p, size_t n);
/* Checks a port number or range string "80" / "8000-8010" (1..65535). */
bool port_range_valid(const char *s, uint32_t *ret_lo, uint32_t *ret_hi);

typedef enum VolumeType {
    VOLUME_BIND,
    VOLUME_VOLUME,
    VOLUME_TMPFS,
} VolumeType;

/* One volume mount in long form. */
typedef struct VolumeSpec {
    VolumeType type;
    char *source;      /* bind: path as written; volume: name; NULL for anonymous */
    char *target;      /* container path */
    bool read_only;    /* ":ro" */
    char *selinux;     /* "z" or "Z" or NULL */
    char *consistency; /* "cached", "delegated", "consistent" or NULL */
    bool nocopy;       /* ":nocopy" on a volume */
} VolumeSpec;

/* Short syntax "[SOURCE:]TARGET[:MODE[,MODE]]". A source starting with ".",
 * "/" or "~" is a bind mount, anything else a named volume; no source is an
 * anonymous volume. MODE: ro, rw, z, Z, cached, delegated, consistent,
 * nocopy. The target must be absolute. Returns 0, or -EINVAL and *ret_err. */
int volume_parse_short(const char *s, VolumeSpec *ret, char **ret_err);
void volume_spec_clear(VolumeSpec *v);
