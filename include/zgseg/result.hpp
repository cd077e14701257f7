// What the pipeline returns for one image: every node it computed (leaves,
// merged parents, final segments) with masks, captions and embeddings.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace zgseg {

// One captioning candidate (a ZeroCap beam or a vocabulary entry).
struct CaptionCandidate {
    std::string text;   // raw text (ZeroCap: the beam as generated, e.g. " dog.")
    double score = 0;   // the captioner's own score (beam score / cosine)
    double clip_score = 0;  // cosine of the segment embedding with CLIP("Image of a {text}.")
};

struct Caption {
    std::string label;  // cleaned best candidate ("dog")
    std::string raw;    // best candidate as generated
    double clip_score = 0;
    std::vector<CaptionCandidate> candidates;  // best first
    std::vector<float> text_embedding;         // CLIP text embedding of "Image of a {raw}." (unnormalised)
};

struct Node {
    int64_t heap_id = 0;           // tree position: children of t are 2t+1, 2t+2; root 0
    std::vector<int32_t> leaves;   // stage-1 leaf indices this node covers
    std::vector<float> embedding;  // CLIP image embedding (unnormalised)
    Caption caption;
    bool final = false;            // part of the final segmentation
    bool merged = false;           // made by merging its two children
    double merge_similarity = 0;   // for merged nodes: the similarity that accepted the merge
    int64_t parent_heap_id = -1;   // -1 for the root
    int insertion_order = 0;       // order in which the merging stage added it
    int segment_id = 0;            // final segments: 1..K in the label map; 0 otherwise
};

struct PipelineResult {
    int width = 0, height = 0;                  // original image size
    int work_width = 0, work_height = 0;        // stage-1 resolution (shorter side --dino-size)
    std::vector<int32_t> leaf_map;              // work_height × work_width, leaf index per pixel
    std::vector<int32_t> label_map;             // work_height × work_width, final segment id per pixel
    std::vector<Node> nodes;                    // leaves first, then merged nodes in insertion order
    std::map<std::string, double> timings;      // seconds per stage
    std::string captioner;                      // "zerocap" or "vocab"
    std::string device;
};

}  // namespace zgseg
