// `zgseg export OUT --format coco`: the whole batch as one COCO instances file
// (images, categories, annotations with RLE masks), which pycocotools,
// FiftyOne (COCODetectionDataset) and CVAT (COCO 1.0) import. Each distinct
// label becomes a category; its frequency is in LVIS's fields
// (instance_count, image_count). Annotations carry the CLIP score as "score",
// so the file also serves as detection results (pycocotools loadRes of its
// "annotations").
#pragma once

#include <nlohmann/json.hpp>

#include "after/batch_folder.hpp"

namespace zgseg::after {

struct CocoExportStats {
    size_t images = 0, annotations = 0, categories = 0;
};

// Reads every NAME.json of the batch. Throws zgseg::Error naming the file
// when one is truncated, not a zgseg output, or has a mask that is not a
// valid COCO RLE of its image's size.
nlohmann::json coco_from_batch(const BatchFolder& batch, CocoExportStats* stats = nullptr);

}  // namespace zgseg::after
