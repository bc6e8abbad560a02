"""Fair-cycle liveness checking on the explored state graph."""
