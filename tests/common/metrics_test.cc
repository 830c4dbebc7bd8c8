#include "common/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace common {
namespace {

// The Prometheus text exposition format: one TYPE line per family, then its samples.
TEST(MetricsTest, RendersFamiliesInTheTextExpositionFormat) {
  std::string out;
  AppendMetric(out, "blocks_sealed_total", "counter", 42);
  AppendMetric(out, "tree_size", "gauge", 9007199254740992.0);  // 2^53, printed exactly
  AppendLabelledMetric(out, "refused_total", "counter", "reason", {{"size", 3}, {"policy", 0}});
  EXPECT_EQ(out,
            "# TYPE blocks_sealed_total counter\nblocks_sealed_total 42\n"
            "# TYPE tree_size gauge\ntree_size 9007199254740992\n"
            "# TYPE refused_total counter\nrefused_total{reason=\"size\"} 3\n"
            "refused_total{reason=\"policy\"} 0\n");
}

TEST(MetricsTest, CollectorsAddTheirFamiliesToTheRender) {
  Metrics m;
  m.blocks_sealed.store(7);
  m.AddCollector([](std::string& out) { AppendMetric(out, "extra_gauge", "gauge", 1.5); });
  const std::string out = m.Render();
  EXPECT_NE(out.find("# TYPE blocks_sealed_total counter\nblocks_sealed_total 7\n"),
            std::string::npos);
  EXPECT_NE(out.find("# TYPE extra_gauge gauge\nextra_gauge 1.5\n"), std::string::npos);
}

}  // namespace
}  // namespace common
