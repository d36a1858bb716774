/*
 * e2e_records.h: kind-generic calls and fixtures over libxuncha for the e2e
 * tests.
 *
 * The five record kinds (target, round, group, finding, lead) share their
 * RPC shapes (Create/Get/List/Update) and their server-set fields, so the
 * tests drive them through one table and protobuf-c reflection, via
 * xc_client_call().
 *
 * Ownership: records passed in stay the caller's and are only read. Records
 * and responses returned through `out` are new unpacked messages the caller
 * frees with xc_message_free().
 */
#ifndef E2E_RECORDS_H
#define E2E_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "xc_harness.h"
#include "xc_limits.h"

typedef enum e2e_kind {
  E2E_TARGET = 0,
  E2E_ROUND,
  E2E_GROUP,
  E2E_FINDING,
  E2E_LEAD,
  E2E_KIND_COUNT
} e2e_kind;

typedef struct e2e_kind_info {
  const char *name;       /* "target": the field name in requests */
  const char *type;       /* "Target" */
  const char *service;    /* "Targets" */
  const char *list_field; /* "targets" */
  const char *list_name;  /* "Targets": ListTargets */
  const ProtobufCMessageDescriptor *rec;
  const ProtobufCMessageDescriptor *create_req, *get_req, *list_req, *list_resp,
      *update_req;
} e2e_kind_info;

/* The table entry of a kind. */
const e2e_kind_info *e2e_kind_get(e2e_kind k);

/* Create<Type>. request_id may be NULL (none). */
int e2e_create(xc_client *c, e2e_kind k, const ProtobufCMessage *rec, const char *request_id,
               ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Get<Type> by id. */
int e2e_get(xc_client *c, e2e_kind k, const char *id, ProtobufCMessage **out,
            xc_err *err) XC_WARN_UNUSED_RESULT;

/* Update<Type> with the record as given and an optional update_mask. */
int e2e_update(xc_client *c, e2e_kind k, const ProtobufCMessage *rec, const char **mask,
               size_t n_mask, ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* List<Types> with a request the caller built (its descriptor must match). */
int e2e_list(xc_client *c, e2e_kind k, const ProtobufCMessage *req, ProtobufCMessage **out,
             xc_err *err) XC_WARN_UNUSED_RESULT;

/* The records of a List response, and its next_page_token. */
ProtobufCMessage **e2e_list_items(const ProtobufCMessage *resp, e2e_kind k, size_t *n);
const char *e2e_list_next(const ProtobufCMessage *resp);

/* A growable list of ids (strings owned by the list). */
typedef struct e2e_ids {
  char **v;
  size_t n, cap;
} e2e_ids;
int e2e_ids_add(e2e_ids *ids, const char *id) XC_WARN_UNUSED_RESULT;
int e2e_ids_contains(const e2e_ids *ids, const char *id);
void e2e_ids_sort(e2e_ids *ids);
/* Returns 1 if the two lists hold the same set (both sorted; no duplicates). */
int e2e_ids_same_set(const e2e_ids *a, const e2e_ids *b);
/* Returns the number of duplicates in a sorted list. */
size_t e2e_ids_duplicates(const e2e_ids *a);
void e2e_ids_free(e2e_ids *ids);

/*
 * Pages through List<Types> with the given page size and region_prefix (NULL
 * for none), adding every listed id to ids. At most max_pages pages. Returns
 * XC_OK or the first failing call's code.
 */
int e2e_list_all(xc_client *c, e2e_kind k, int32_t page_size, const char *region_prefix,
                 e2e_ids *ids, size_t max_pages, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Returns 1 if id is in a full listing of kind k by c. */
int e2e_listed(xc_client *c, e2e_kind k, const char *id);

/* Packs msg into a new buffer (free()); *len gets its size. */
uint8_t *e2e_pack(const ProtobufCMessage *msg, size_t *len);

/* Returns 1 if both messages pack to the same bytes. */
int e2e_same_bytes(const ProtobufCMessage *a, const ProtobufCMessage *b);

/* Shorthands for the common fields. */
const char *e2e_id(const ProtobufCMessage *rec);
const char *e2e_etag(const ProtobufCMessage *rec);

/*
 * A full chain of records owned by one office: a target in `region`, a round
 * over it, a group of the round, a finding and a lead (sent to `recipient`).
 * Members are NULL until made; e2e_chain_free releases them.
 */
typedef struct e2e_chain {
  Xuncha__V1__Target *target;
  Xuncha__V1__Round *round;
  Xuncha__V1__Group *group;
  Xuncha__V1__Finding *finding;
  Xuncha__V1__Lead *lead;
} e2e_chain;

/*
 * Makes the chain as c. round_kind 0 means REGULAR. When target_id is not
 * NULL, no target is made and the round inspects that target (region must be
 * its region). Returns XC_OK or the first failing call's code, with err.
 */
int e2e_chain_make(xc_client *c, const char *region, const char *target_id,
                   Xuncha__V1__RoundKind round_kind, const char *recipient, const char *tag,
                   e2e_chain *ch, xc_err *err) XC_WARN_UNUSED_RESULT;
void e2e_chain_free(e2e_chain *ch);

/* The record of kind k in a chain. */
ProtobufCMessage *e2e_chain_rec(const e2e_chain *ch, e2e_kind k);

/* Makes a target quickly (kind MUNICIPAL_DEPARTMENT) and returns it, or NULL. */
Xuncha__V1__Target *e2e_target_new(xc_client *c, const char *region, const char *name,
                                   xc_err *err);

/*
 * CUnit helpers: assert a call's code and print the err message when it
 * differs, so a failure says what the server answered.
 */
#define E2E_EXPECT(rc, err, want)                                                    \
  do {                                                                               \
    int e2e_rc_ = (rc);                                                              \
    if (e2e_rc_ != (want))                                                           \
      fprintf(stderr, "\n  %s:%d: expected %s, got %s: %s\n", __FILE__, __LINE__,    \
              xc_code_name(want), xc_code_name(e2e_rc_), e2e_rc_ ? (err).msg : "");  \
    CU_ASSERT_EQUAL(e2e_rc_, (want));                                                \
  } while (0)

#endif /* E2E_RECORDS_H */
