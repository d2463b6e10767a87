"""Expert sets and prompt sets: read, write and validate (HF ``imagefolder`` layout)."""
