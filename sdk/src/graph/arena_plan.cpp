#include "graph/arena_plan.h"

#include <algorithm>

namespace faceattr::graph {
namespace {

struct Interval {
  int tensor;
  int first, last;  // node indices; the network input starts at -1
  size_t bytes;
};

size_t round_up(size_t v) { return (v + kArenaAlign - 1) / kArenaAlign * kArenaAlign; }

}  // namespace

ArenaPlan plan_arena(const model::Model& m) {
  const int nt = static_cast<int>(m.tensors.size());
  const int n_nodes = static_cast<int>(m.nodes.size());
  std::vector<int> first(nt, n_nodes + 1), last(nt, -2);
  first[m.input] = -1;
  last[m.input] = -1;
  for (int i = 0; i < n_nodes; ++i) {
    const model::Node& n = m.nodes[i];
    first[n.output] = std::min(first[n.output], i);
    last[n.output] = std::max(last[n.output], i);
    for (int t : n.inputs)
      if (t >= 0) last[t] = std::max(last[t], i);
  }
  // Outputs are read after the run; the input stays intact so a caller may fill it once and run many times.
  for (int o : m.outputs) last[o] = n_nodes;
  last[m.input] = n_nodes;

  std::vector<Interval> live;
  for (int t = 0; t < nt; ++t)
    if (!m.tensors[t].constant && first[t] <= last[t])
      live.push_back({t, first[t], last[t], round_up(m.tensors[t].bytes())});
  std::stable_sort(live.begin(), live.end(),
                   [](const Interval& a, const Interval& b) { return a.bytes > b.bytes; });

  ArenaPlan plan;
  plan.offsets.assign(nt, kNoOffset);
  struct Placed {
    size_t offset, bytes;
    int first, last;
  };
  std::vector<Placed> placed;
  std::vector<std::pair<size_t, size_t>> busy;  // [offset, end) of time-overlapping placements
  for (const Interval& iv : live) {
    busy.clear();
    for (const Placed& p : placed)
      if (p.first <= iv.last && iv.first <= p.last) busy.emplace_back(p.offset, p.offset + p.bytes);
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;  // lowest gap that fits
    for (const auto& b : busy) {
      if (b.first >= offset + iv.bytes) break;
      offset = std::max(offset, b.second);
    }
    placed.push_back({offset, iv.bytes, iv.first, iv.last});
    plan.offsets[iv.tensor] = offset;
    plan.total_bytes = std::max(plan.total_bytes, offset + iv.bytes);
  }
  return plan;
}

}  // namespace faceattr::graph
