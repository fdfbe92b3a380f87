/* workload: the pods of the export (workload.c): a service's pod
 * template, its Job spec, its seed Job, a volume claim. */
#pragma once

#include "kube/facts.h"

Node *build_pod(Builder *b, size_t i, Node *labels, Node *annotations);
void build_job_spec(Builder *b, const Service *s, Node *spec);
void build_seed_job(Builder *b, size_t i);
Node *build_claim_spec(Builder *b, const char *storage);
