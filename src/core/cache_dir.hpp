// Where zgseg keeps what it can rebuild: $XDG_CACHE_HOME/zgseg, else
// ~/.cache/zgseg. Its sub-folders: vocab/ (the vocabulary captioner's text
// embeddings), eval/ (eval's class embeddings), bench-models/ (bench's random
// models). The model directory's default, ~/.cache/zgseg/models, is not under
// $XDG_CACHE_HOME (README "Models"): see ModelDirectory::resolve.
#pragma once

#include <filesystem>

namespace zgseg {

// $HOME, else /tmp.
std::filesystem::path home_folder();

// $XDG_CACHE_HOME/zgseg when set and not empty, else home_folder()/.cache/zgseg.
std::filesystem::path cache_root();

}  // namespace zgseg
