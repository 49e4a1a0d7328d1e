#include "sync/cli/mask_cli.h"

#include <fmt/format.h>

#include <iostream>

#include "copy/connection.h"
#include "schema/catalog.h"
#include "sync/engine/mask_coverage.h"
#include "sync/engine/plan.h"

namespace freshet {

int RunMaskCheck(SyncArguments args) {
  if (args.to.empty()) args.to = args.from;
  SyncOptions options = ResolveSyncOptions(args, true);
  Connection source = Connection::Open(options.source_url, "source");
  Catalog source_catalog = ReadCatalog(source);
  Catalog target_catalog = source_catalog;
  if (options.target_url != options.source_url) {
    Connection target = Connection::Open(options.target_url, "target");
    target_catalog = ReadCatalog(target);
  }
  Plan plan = BuildPlan(source_catalog, target_catalog, options.plan);
  std::vector<std::string> kept;
  for (const auto& [pattern, rule] : options.plan.masks.rules)
    if (rule.rule == "keep") kept.push_back(pattern);
  std::vector<PersonalColumn> unruled = FindPersonalColumns(source_catalog, plan, kept, &source);

  std::string out;
  size_t masked = 0;
  for (const auto& table : plan.tables)
    for (const auto& mask : table.masks) {
      out += fmt::format("masked: {}.{} by rule \"{}\" {}\n", table.name.Display(), mask.column,
                         mask.rule.rule, MaskPlacement(mask));
      ++masked;
    }
  for (const auto& column : unruled)
    out += fmt::format(
        "NO RULE: {}.{} ({}): {}; add [mask.\"{}.{}\"] rule = \"{}\" (or rule = \"keep\" with a "
        "reason)\n",
        column.table.Display(), column.column, column.type, column.why, column.table.Display(),
        column.column, column.suggested);
  for (const auto& error : plan.errors) out += "error: " + error + "\n";
  out += fmt::format("{} columns masked, {} that look personal have no rule\n", masked,
                     unruled.size());
  std::cout << out;
  return unruled.empty() && plan.ok() ? 0 : static_cast<int>(ErrorKind::kPlan);
}

}  // namespace freshet
