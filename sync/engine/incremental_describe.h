// The incremental part of `freshet plan`: how each table would be brought up
// to date. Pure formatting of a plan whose modes are chosen (ChooseModes).
#pragma once

#include <string>

namespace freshet {

struct Plan;

// One aligned line per planned table: its name, mode, watermark column (when
// the mode has one), delete policy and the reason for the mode. Tables
// without a chosen mode say so. Empty when no table has a mode.
std::string DescribeIncremental(const Plan& plan);

}  // namespace freshet
