"""imagegen: an AI image-generation web service."""
