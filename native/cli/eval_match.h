// Matching predicted face boxes to true ones for `faceattr eval` (docs/cli.md):
// IoU, the lenient rule, and greedy one-to-one matching.
#pragma once

#include <vector>

namespace faceattr::cli {

struct Box {
  double x = 0, y = 0, w = 0, h = 0;  // top-left corner and size
};

// Intersection over union; 0 when either box is empty or they do not overlap.
double box_iou(const Box& a, const Box& b);

// The lenient rule: the predicted box's centre lies inside the true box (edges
// included) and its side sqrt(w * h) is within a factor 2 of the true box's:
// sqrt(pw * ph) / sqrt(tw * th) in [0.5, 2].
bool lenient_match(const Box& pred, const Box& truth);

// Greedy one-to-one matching; result[t] is the prediction matched to truth t, or
// -1. By IoU: pairs with IoU >= min_iou, highest IoU first. Lenient: pairs that
// satisfy lenient_match, nearest centres first. Ties go to the lower truth, then
// the lower prediction index (predictions come strongest first).
std::vector<int> match_by_iou(const std::vector<Box>& truth, const std::vector<Box>& pred, double min_iou);
std::vector<int> match_lenient(const std::vector<Box>& truth, const std::vector<Box>& pred);

}  // namespace faceattr::cli
