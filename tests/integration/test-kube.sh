#!/bin/sh
# tend kube on the example stack (services.d/, env/dev, env/staging) and on
# the compose fixtures (tests/data/compose/*): the tree and the warnings are
# the golden ones (tests/data/kube/NAME.tree, NAME.warnings; @DIR@ for the
# project folder), each warning is said once, the same files give the same
# bytes; every kustomization builds with kustomize, every object it gives
# decodes strictly into the Kubernetes API types (scripts/kube-tools), each
# overlay builds to exactly the objects of its environment written flat;
# and the objects mean what the files say (probe timings, secrets only in
# Secrets, internal-only databases, init container order, a migration Job
# before the web Deployment, the environment's replicas and Ingress). TAP.
# Usage: test-kube.sh TEND_BINARY (TEND_TEST_DATA names tests/data).
# TEND_KUBE_UPDATE=1 rewrites the golden files after a reviewed change.
. "$(dirname "$0")/lib.sh" "$@"
DATA=${TEND_TEST_DATA:?}
ROOT=$(cd "$DATA/../.." && pwd)
GOLD=$DATA/kube

# tend as a fresh shell runs it: no TEND_EXAMPLE_* or TEND_ENV of ours.
tendx() {
    env -i PATH=/usr/bin:/bin HOME="$T" "$TEND" "$@"
}

# The tree in one text, file by file, for the golden comparison.
dump() {
    (cd "$1" && find . -type f | LC_ALL=C sort | while read -r f; do
        printf '==> %s <==\n' "${f#./}"
        cat "$f"
        printf '\n'
    done)
}

# golden NAME FILE: FILE equals the golden one (or becomes it in update mode).
golden() {
    if [ "${TEND_KUBE_UPDATE:-}" = 1 ]; then
        cp "$2" "$GOLD/$1"
    fi
    if diff -u "$GOLD/$1" "$2" >"$T/diff"; then
        ok "$1 is the golden one"
    else
        notok "$1 is the golden one" "$(head -60 "$T/diff")"
    fi
}

TOOLS=$("$ROOT/scripts/kube-tools" 2>"$T/tools.err")
tools_rc=$?

export_one() { # NAME DIR
    name=$1
    dir=$2
    out=$T/$name
    if (cd "$dir" && tendx kube -o "$out/tree") 2>"$out.err"; then
        ok "$name: tend kube writes a tree"
    else
        notok "$name: tend kube writes a tree" "$(cat "$out.err")"
        return
    fi
    grep -v '^tend kube: wrote' "$out.err" | sed "s|$dir|@DIR@|g" >"$out.warnings"
    dump "$out/tree" | sed "s|$dir|@DIR@|g" >"$out.tree"
    golden "$name.tree" "$out.tree"
    golden "$name.warnings" "$out.warnings"
    dups=$(sort "$out.warnings" | uniq -d)
    if [ -z "$dups" ]; then ok "$name: each warning once"; else notok "$name: each warning once" "$dups"; fi
    (cd "$dir" && tendx kube -o "$out/again") 2>/dev/null
    if [ "$(dump "$out/again")" = "$(dump "$out/tree")" ]; then
        ok "$name: the same files give the same bytes"
    else
        notok "$name: the same files give the same bytes"
    fi
    if [ $tools_rc -ne 0 ]; then
        skip "$name: kustomize build and strict decoding" "$(cat "$T/tools.err")"
        return
    fi
    for k in "$out"/tree/base "$out"/tree/overlays/*; do
        [ -d "$k" ] || continue
        what=${k#"$out/tree/"}
        if "$TOOLS/kustomize" build "$k" >"$k.built" 2>"$T/kz.err" &&
            "$TOOLS/kubecheck" "$k.built" >"$k.json" 2>"$T/kc.err"; then
            ok "$name: $what builds and every object decodes strictly"
        else
            notok "$name: $what builds and every object decodes strictly" "$(cat "$T/kz.err" "$T/kc.err" | head -20)"
        fi
    done
    for e in $(cd "$dir" && tendx envs); do
        (cd "$dir" && tendx --env "$e" kube --flat -o "$out/flat-$e") 2>/dev/null
        "$TOOLS/kustomize" build "$out/flat-$e" >"$out/flat-$e.built" 2>&1
        if cmp -s "$out/flat-$e.built" "$out/tree/overlays/$e.built"; then
            ok "$name: overlays/$e builds to the objects of $e written flat"
        else
            notok "$name: overlays/$e builds to the objects of $e written flat" \
                "$(diff "$out/flat-$e.built" "$out/tree/overlays/$e.built" | head -20)"
        fi
    done
}

# meaning NAME PYTHON: PYTHON asserts on `objs` (base), `env[NAME]` (overlays).
meaning() {
    name=$1
    desc=$2
    if [ $tools_rc -ne 0 ]; then
        skip "$name: $desc" "no kubecheck"
        return
    fi
    if "$PY" - "$T/$name/tree" >"$T/py.out" 2>&1 <<EOF
import json, sys, glob, os
root = sys.argv[1]
def load(p):
    return {(o["kind"], o["metadata"]["name"]): o for o in json.load(open(p))}
objs = load(root + "/base.json")
env = {os.path.basename(p)[:-5]: load(p) for p in glob.glob(root + "/overlays/*.json")}
def gen(objs, kind, prefix):
    return [o for (k, n), o in objs.items() if k == kind and n.startswith(prefix + "-")]
def pod(o):
    return o["spec"]["template"]["spec"]
$3
EOF
    then
        ok "$name: $desc"
    else
        notok "$name: $desc" "$(cat "$T/py.out")"
    fi
}

rm -rf "$T/example-src" && mkdir "$T/example-src"
# The example from a copy, so that the golden file names no checkout.
cp -r "$ROOT/services.d" "$ROOT/env" "$ROOT/examples" "$T/example-src/"
export_one example "$T/example-src"
for d in "$DATA"/compose/*/; do
    export_one "$(basename "$d")" "${d%/}"
done

meaning example "databases are internal ClusterIP Services, the proxy is public" '
assert objs[("Service", "postgres")]["spec"]["type"] == "ClusterIP"
assert objs[("Service", "redis")]["spec"]["type"] == "ClusterIP"
assert ("Service", "postgres-public") not in objs and ("Ingress", "postgres") not in objs
assert objs[("Service", "proxy-public")]["spec"]["type"] == "LoadBalancer"
assert ("Ingress", "proxy") in env["staging"] and ("Service", "proxy-public") not in env["staging"]
rule = env["staging"][("Ingress", "proxy")]["spec"]["rules"][0]
assert rule["host"] == "staging.tend-example.test", rule
assert rule["http"]["paths"][0]["backend"]["service"]["port"]["number"] == 8080
assert objs[("StatefulSet", "postgres")]["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "pgdata"
assert env["staging"][("StatefulSet", "postgres")]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
'
meaning example "probes keep the timings of the files" '
c = pod(objs[("StatefulSet", "postgres")])["containers"][0]
r, s = c["readinessProbe"], c["startupProbe"]
assert r["exec"]["command"][0] == "pg_isready", r
assert (r["periodSeconds"], r["timeoutSeconds"], r["failureThreshold"]) == (10, 5, 3), r
assert (s["periodSeconds"], s["failureThreshold"]) == (1, 30), s
assert "livenessProbe" not in c
w = pod(objs[("Deployment", "web")])["containers"][0]["readinessProbe"]
assert (w["periodSeconds"], w["timeoutSeconds"], w["failureThreshold"]) == (10, 3, 3), w
p = pod(objs[("Deployment", "proxy")])["containers"][0]["readinessProbe"]
assert p["httpGet"]["path"] == "/healthz" and p["httpGet"]["port"] == 8080, p
l = pod(env["staging"][("StatefulSet", "postgres")])["containers"][0]["livenessProbe"]
assert l["tcpSocket"]["port"] == 5432 and l["periodSeconds"] == 10, l
'
meaning example "secret values are in Secrets, never in ConfigMaps or pod specs" '
for e in [objs] + list(env.values()):
    for (k, n), o in e.items():
        text = json.dumps(o)
        if k == "Secret":
            continue
        assert "app:app@" not in text, (k, n)
        assert "staging-example-password" not in text, (k, n)
        if k == "ConfigMap":
            assert not any("PASSWORD" in key and not key.endswith("_FILE") for key in o.get("data", {})), (k, n)
import base64
sec = gen(objs, "Secret", "postgres-env")[0]
assert base64.b64decode(sec["data"]["POSTGRES_PASSWORD"]) == b"app"
assert "DATABASE_URL" in gen(objs, "Secret", "web-env")[0]["data"]
pw = gen(env["staging"], "Secret", "postgres-password")[0]
assert base64.b64decode(pw["data"]["postgres_password"]) == b"staging-example-password-change-me"
'
meaning example "init containers wait for each dependency, then its seeds" '
names = [c["name"] for c in pod(objs[("Deployment", "web")])["initContainers"]]
assert names == ["wait-postgres", "wait-postgres-seed", "wait-redis", "wait-redis-seed"], names
names = [c["name"] for c in pod(objs[("Deployment", "proxy")])["initContainers"]]
assert names == ["wait-web", "wait-status"], names
seed = pod(objs[("Job", "postgres-seed")])
assert seed["initContainers"][0]["name"] == "wait-postgres"
assert seed["containers"][0]["command"][:1] == ["psql"]
assert pod(objs[("Deployment", "web")])["serviceAccountName"] == "tend-wait"
assert ("Role", "tend-wait") in objs
'
meaning example "each environment differs as its files say" '
d, s = env["dev"], env["staging"]
assert objs[("Deployment", "web")]["spec"]["replicas"] == 1
assert d[("Deployment", "web")]["spec"]["replicas"] == 1 and s[("Deployment", "web")]["spec"]["replicas"] == 2
assert pod(objs[("Deployment", "web")])["containers"][0]["image"] == "tend/hostusr"
assert pod(d[("Deployment", "web")])["containers"][0]["image"] == "tend-example-web:dev"
assert pod(d[("Deployment", "web")])["containers"][0]["imagePullPolicy"] == "IfNotPresent"
assert pod(s[("Deployment", "web")])["containers"][0]["image"] == "registry.tend-example.test/tend-example/tend-example-web:dev"
assert gen(objs, "ConfigMap", "web-env")[0]["data"]["FLASK_DEBUG"] == "1"
assert gen(s, "ConfigMap", "web-env")[0]["data"]["FLASK_DEBUG"] == "0"
assert pod(s[("Deployment", "web")])["containers"][0]["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
assert all(o["metadata"].get("namespace") == "tend-example-staging" for (k, n), o in s.items() if k != "Namespace")
assert not any(v.get("hostPath") for v in pod(d[("Deployment", "web")]).get("volumes", []))
'
meaning migrate "a migration Job runs before the web Deployment" '
assert ("Job", "migrate") in objs and ("Deployment", "migrate") not in objs
inits = pod(objs[("Deployment", "web")])["initContainers"]
assert [c["name"] for c in inits] == ["wait-db", "wait-migrate"], inits
assert inits[1]["command"][:4] == ["kubectl", "wait", "--for=condition=complete", "job/migrate"]
assert pod(objs[("Job", "migrate")])["restartPolicy"] == "Never"
assert objs[("Service", "db")]["spec"]["type"] == "ClusterIP"
assert "LOG_LEVEL" in gen(objs, "ConfigMap", "web-env")[0]["data"]
for key in ("STRIPE_API_KEY", "DATABASE_URL", "SECRET_KEY"):
    assert key in gen(objs, "Secret", "web-env")[0]["data"], key
import base64
assert base64.b64decode(gen(env["staging"], "Secret", "db-env")[0]["data"]["POSTGRES_PASSWORD"]) == b"staging-password"
assert env["staging"][("Deployment", "web")]["spec"]["replicas"] == 3
assert ("Ingress", "web") in env["staging"]
'

# Bad input: an environment that does not exist, an invalid name (also from
# a .env file, with its line), an x-tend.kube typo.
mkdir -p "$T/bad"
printf 'services:\n  a:\n    image: busybox\n' >"$T/bad/compose.yaml"
if (cd "$T/bad" && tendx --env nope kube -o "$T/bad/out") 2>"$T/bad.err"; then
    notok "a missing environment is an error"
else
    rc=$?
    if [ $rc -eq 2 ] && grep -q 'no environment "nope"' "$T/bad.err"; then ok "a missing environment is exit 2"; else notok "a missing environment is exit 2" "rc=$rc" "$(cat "$T/bad.err")"; fi
fi
printf '# the environment\nTEND_ENV=Bad_Name\n' >"$T/bad/.env"
(cd "$T/bad" && tendx config) >/dev/null 2>"$T/bad.err"
rc=$?
if [ $rc -eq 2 ] && grep -q "$T/bad/.env:2:1: error: invalid environment name \"Bad_Name\"" "$T/bad.err"; then
    ok "an invalid TEND_ENV in .env is exit 2 at its file:line"
else
    notok "an invalid TEND_ENV in .env is exit 2 at its file:line" "rc=$rc" "$(cat "$T/bad.err")"
fi
rm "$T/bad/.env"
printf 'x-tend:\n  kube:\n    expose: nodeport\n' >"$T/bad/compose.ci.yaml"
(cd "$T/bad" && tendx --env ci kube -o "$T/bad/out2") 2>"$T/bad.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'compose.ci.yaml:3:13: error: x-tend.kube.expose: "nodeport" is not one of' "$T/bad.err"; then
    ok "a bad x-tend.kube setting is exit 2 at its file:line"
else
    notok "a bad x-tend.kube setting is exit 2 at its file:line" "rc=$rc" "$(cat "$T/bad.err")"
fi
rm "$T/bad/compose.ci.yaml"
mkdir -p "$T/bad/mine" && touch "$T/bad/mine/notes.txt"
if (cd "$T/bad" && tendx kube -o "$T/bad/mine") 2>"$T/bad.err"; then
    notok "a folder tend kube did not write is left alone"
elif [ -f "$T/bad/mine/notes.txt" ] && grep -q 'not empty and was not written by tend kube' "$T/bad.err"; then
    ok "a folder tend kube did not write is left alone"
else
    notok "a folder tend kube did not write is left alone" "$(cat "$T/bad.err")"
fi
finish
