"""What writes results for people and other tools: traces, the report, exports, replay."""
