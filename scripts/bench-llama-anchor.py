#!/usr/bin/env python3
"""The anchor for the chat model's speed in `lianluo bench kb`: the same GGUF, prompt and settings run by
llama.cpp through llama-cpp-python (`pip install llama-cpp-python` compiles llama.cpp on this machine).
Prompt speed comes from the time to the first streamed token of a long prompt, generation speed from
the rest, the best of three runs after a warm-up, exactly as `lianluo bench kb` measures.

Usage: bench-llama-anchor.py MODEL.gguf POLICY.md [THREADS]
"""
import sys
import time

from llama_cpp import Llama

model, policy_file = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
policy = open(policy_file, encoding="utf-8").read()
llm = Llama(model_path=model, n_ctx=4096, n_batch=512, n_threads=threads, n_threads_batch=threads, verbose=False)
messages = [
    {"role": "system", "content": "You are a helpful customer service assistant."},
    {"role": "user", "content": policy + "\n\nWrite a detailed summary of this policy for a new agent."},
]


def run():
    llm.reset()
    start = time.perf_counter()
    first, pieces = None, 0
    for chunk in llm.create_chat_completion(messages=messages, max_tokens=128, temperature=0.0, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            if first is None:
                first = time.perf_counter() - start
            pieces += 1
    return first, time.perf_counter() - start, pieces


run()
best_prompt = best_gen = 0.0
for _ in range(3):
    first, total, pieces = run()
    # The context now holds the prompt and the generated tokens (one streamed piece per token).
    prompt_tokens = llm.n_tokens - pieces
    best_prompt = max(best_prompt, prompt_tokens / first)
    best_gen = max(best_gen, (pieces - 1) / (total - first))
print(f"prompt: {best_prompt:.1f} tokens/s ({prompt_tokens} prompt tokens); generation: {best_gen:.1f} tokens/s")
