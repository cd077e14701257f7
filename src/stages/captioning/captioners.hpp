// Stage 3's captioners, in one list: the values --captioner accepts, what
// Pipeline::load builds, the name NAME.json records under "captioner" and each
// captioner's own section of NAME.json's "parameters". Adding a captioner:
// README "Extending zgseg".
//
// No LibTorch in this header: the CLI reads the names.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zgseg {

class Captioner;
struct CaptionerSetup;  // what a captioner is built from (captioner.hpp)
struct PipelineParams;

struct CaptionerEntry {
    std::string name;                   // --captioner NAME; NAME.json "captioner"; Captioner::name()
    std::string auto_device;            // --captioner auto picks it on this device ("cuda" or "cpu")
    std::vector<std::string> networks;  // model folders it loads besides DINO and CLIP
    std::unique_ptr<Captioner> (*make)(const CaptionerSetup& setup);
    nlohmann::json (*parameters)(const PipelineParams& params);  // its section of NAME.json "parameters"
};

// Every captioner, in --help's order.
const std::vector<CaptionerEntry>& captioners();

// The values --captioner accepts: "auto", then every captioner's name.
std::vector<std::string> captioner_choices();

// The captioner `requested` names ("auto": the one for the device); throws
// zgseg::UsageError listing the choices when there is none.
const CaptionerEntry& find_captioner(const std::string& requested, bool cuda);

}  // namespace zgseg
