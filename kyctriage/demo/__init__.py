"""The synthetic demo set: drawn scenes and the samples written from them."""
