#include "stats.h"

#include "common/metrics.h"

namespace milter {

std::string Stats::Render(const std::string& mode) const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, uint64_t v) {
    common::AppendMetric(out, name, type, static_cast<double>(v));
  };
  common::AppendLabelledMetric(out, "milter_mode", "gauge", "mode", {{mode.c_str(), 1}});
  metric("milter_messages_total", "counter", messages_total.load());
  metric("milter_notarised_total", "counter", notarised_total.load());
  metric("milter_tempfail_total", "counter", tempfail_total.load());
  metric("milter_spooled_total", "counter", spooled_total.load());
  metric("milter_spool_full_total", "counter", spool_full_total.load());
  metric("milter_forwarded_total", "counter", forwarded_total.load());
  metric("milter_forward_failures_total", "counter", forward_failures_total.load());
  metric("milter_quarantined_total", "counter", quarantined_total.load());
  metric("milter_spool_commits_total", "counter", spool_commits_total.load());
  metric("milter_spool_records", "gauge", spool_records.load());
  metric("milter_spool_bytes", "gauge", spool_bytes.load());
  return out;
}

}  // namespace milter
