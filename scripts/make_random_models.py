"""Full-size random-weight model folders in the real Hugging Face layout, for
benchmarks (speed does not depend on weight values) and smoke tests of the real
shapes: dino-vits8 and clip-vit-large-patch14-336 (with the bundled CLIP
tokenizer files).

    python scripts/make_random_models.py OUT_DIR
"""
import pathlib
import shutil
import sys

import torch
from transformers import CLIPConfig, CLIPModel, ViTConfig, ViTModel

out = pathlib.Path(sys.argv[1])
torch.manual_seed(0)

dino = ViTConfig(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536,
                 image_size=224, patch_size=8, qkv_bias=True, layer_norm_eps=1e-6)
ViTModel(dino, add_pooling_layer=False).save_pretrained(out / "dino-vits8")

clip = CLIPConfig(
    text_config=dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                     num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
                     bos_token_id=0, eos_token_id=2),
    vision_config=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                       image_size=336, patch_size=14, hidden_act="quick_gelu"),
    projection_dim=768)
CLIPModel(clip).save_pretrained(out / "clip-vit-large-patch14-336")
for f in ("vocab.json", "merges.txt"):
    shutil.copy(pathlib.Path("models/clip-vit-large-patch14-336") / f, out / "clip-vit-large-patch14-336" / f)
print("wrote", out)
