"""Convert a Hugging Face pytorch_model.bin into model.safetensors.

    python scripts/convert_to_safetensors.py pytorch_model.bin model.safetensors

Needs torch (and the `safetensors` package, installed on demand). Tied weights
(shared storage) are written once each; the output is written to a temporary
name and renamed into place.
"""
import os
import subprocess
import sys


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    import torch
    try:
        from safetensors.torch import save_file
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "safetensors"])
        from safetensors.torch import save_file

    state = torch.load(src, map_location="cpu", weights_only=True)
    seen = {}
    tensors = {}
    for name, tensor in state.items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if key in seen:  # a tied copy (e.g. GPT-2's lm_head): zgseg ties it itself
            continue
        seen[key] = name
        tensors[name] = tensor.contiguous().clone()
    tmp = dst + ".part"
    save_file(tensors, tmp, metadata={"format": "pt", "converted_from": os.path.basename(src)})
    os.replace(tmp, dst)
    print(f"converted {src} -> {dst} ({len(tensors)} tensors)")


if __name__ == "__main__":
    main()
