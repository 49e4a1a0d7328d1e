// The grants part of the drift check (Diff in apply/schema_diff.h): privileges
// on schemas, relations, sequences, columns and functions, and default
// privileges, compared grantee by grantee. Pure functions, thread-safe.
//
// Only objects present on both sides are compared (an object on one side is
// its own drift item), so every item is a "differs". One item per object,
// its detail one "<grantee>: <expected> vs <actual>" per differing grantee
// ("anon: SELECT vs none; authenticated: INSERT, SELECT vs SELECT").
// Grantees are compared by name, whether or not the role exists on the other
// side; owners' own rights are not in the model (schema/schema_model.h).
#pragma once

#include <string>
#include <vector>

#include "apply/schema_diff.h"
#include "schema/schema_model.h"

namespace freshet {

// Items of kind "grant" (object: "public", "public.contacts",
// "public.contacts.email", "public.touch()") and "default-privilege" (object:
// "tables in schema public", "functions in all schemas", with " for role
// <name>" unless the role is the one each model was read as), in no
// particular order.
std::vector<DriftItem> DiffGrants(const SchemaModel& expected, const SchemaModel& actual);

// A grantee's privileges as a CI log shows them: GRANT's names in
// PostgreSQL's order (INSERT, SELECT, UPDATE, DELETE, TRUNCATE, REFERENCES,
// TRIGGER for tables; USAGE, SELECT, UPDATE for sequences; USAGE, CREATE for
// schemas), those held WITH GRANT OPTION last ("SELECT + UPDATE WITH GRANT
// OPTION"); "none" when empty.
std::string DescribePrivileges(const Privileges& privileges);

}  // namespace freshet
