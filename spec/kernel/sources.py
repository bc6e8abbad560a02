"""The kernel sources the models' actions cite (``@cites``), one ``Source`` per tag.

The tags are those of ``docs/kernel-facts.md`` (its source key) and ``docs/second-reading/*.md``
(round4.md §0 is the newest reading); ``version`` is the upstream code the model follows (a tag or a
commit), ``read_from`` the copy that was actually read (repository @commit, a mail's Message-ID, or
the code index's file id where the index named no repository). ``upstream`` is False where the copy
read is not a known upstream commit (a mirror with local edits, a split copy, a patch mail that was
never merged, an old copy of unknown commit): a finding that rests on it is to be confirmed against
``version``. A model sets ``spec.sources = sources.pick(...)`` with the tags its actions cite.
"""

from __future__ import annotations

from spec.lang import Source, SpecError

_ALL = [
    # ---- the RFC (spec/delayed_work)
    Source(
        "S-p2",
        "kernel/bpf/helpers.c, kernel/bpf/core.c, kernel/bpf/verifier.c (the RFC's hunks)",
        "[RFC PATCH bpf-next 2/3] bpf: add delayed_work mechanism, Delyan Kratunov, 2022-07-11 "
        "(never merged)",
        "<3d3027f5e13a37874b39c6363789bd55b4110be4.1657576063.git.delyank@fb.com> (lore.kernel.org/bpf; "
        "code index id 26459978262)",
        False,
    ),
    Source(
        "S-p1",
        "kernel/bpf/syscall.c, kernel/bpf/arraymap.c, kernel/bpf/hashtab.c (the RFC's map hunks)",
        "[RFC PATCH bpf-next 1/3] bpf: allow maps to hold bpf_delayed_work fields, 2022-07-11 (never merged)",
        "as quoted in <CAEf4BzbSVL_aQ2kBT4785Y_30NZ9gVP8zPbaY=Kpi7Q8AbvgOQ@mail.gmail.com>",
        False,
    ),
    # ---- kernel primitives
    Source(
        "K-irqwork",
        "kernel/irq_work.c, include/linux/irq_work.h, include/linux/smp_types.h",
        "mainline (recent; the functions quoted are unchanged since v5.10)",
        "Kingxukai/linux @9b44fff655e2 (a mirror with a comment-only edit); qiaozhe1/linux6.10 @cee60307; "
        "torvalds/linux @91908587",
        False,
    ),
    Source(
        "K-llist",
        "lib/llist.c, include/linux/llist.h",
        "mainline",
        "torvalds/linux @0ea5c948, @0e7fcfff",
        True,
    ),
    Source(
        "K-rcu-doc",
        "kernel/rcu/tree.c (call_rcu kernel-doc), kernel/rcu/tasks.h, include/linux/rcupdate.h",
        "mainline (v5.0 and later for the consolidated flavours)",
        "code index ids 833980, 56792469936 (call_rcu); 55971236 (tasks.h, about v6.2-v6.18)",
        False,
    ),
    Source(
        "K-syscall",
        "kernel/bpf/syscall.c",
        "v5.19 (2022) and bpf-next late 2025",
        "code index ids 3089243 (v5.x), 45681073 (2025); "
        "kernelorg-mirror/linux_kernel_git_martin.lau_bpf-next @2d7e2bdf",
        False,
    ),
    Source(
        "K-core",
        "kernel/bpf/core.c",
        "v5.19 (2022)",
        "a ~v5.10 copy of unknown commit, and the RFC's hunk (S-p2)",
        False,
    ),
    Source(
        "K-htab",
        "kernel/bpf/hashtab.c",
        "v5.19 (2022): BPF_F_NO_PREALLOC elements freed by call_rcu(htab_elem_free_rcu)",
        "not re-read (docs/kernel-facts.md#map-htab-free)",
        False,
    ),
    Source(
        "K-arraymap",
        "kernel/bpf/arraymap.c",
        "v6.12: .map_release_uref = array_map_free_timers_wq; array_map_update_elem -> bpf_obj_free_fields",
        "read only through patch diffs (docs/second-reading/bpf_timer.md §0 'maps')",
        False,
    ),
    Source(
        "K-htab-update",
        "kernel/bpf/hashtab.c htab_map_update_elem / htab_map_delete_elem",
        "v6.13-6.14 (map_locked + raw_spinlock_t bucket lock; special fields of a replaced preallocated "
        "element freed under the bucket lock, of a deleted one after it); v6.15+: rqspinlock_t",
        "code index id 11237561 (about v6.13-6.14); Aarav90-cpu/linux-kotlin @a663adb68e0e (a fork with "
        "unresolved merge markers: only clean parts read), docs/second-reading/round5-issue21.md B1, C1",
        False,
    ),
    Source(
        "K-htab-map-locked",
        "kernel/bpf/hashtab.c htab_lock_bucket / htab_unlock_bucket, v5.10-v6.14",
        "20b6cc34ea74 (v5.10, Song Liu, 'bpf: Avoid hashtab deadlock with map_locked'); the counter's "
        "index fixed by 'bpf: hash map, avoid deadlock with suitable hash mask' (Tonghao Zhang, January "
        "2023); local_irq_save before the counter by 'Avoid unnecessary -EBUSY from htab_lock_bucket' "
        "(Song Liu, October 2023)",
        "patch mails <20230105092637.35069-1-tong@infragraf.org> (code index id 40325658169: the original "
        "'hash & HASHTAB_MAP_LOCK_MASK' and its fix) and <20231012055741.3375999-1-song@kernel.org> (id "
        "43593774653); docs/second-reading/round5-issue21.md C1",
        False,
    ),
    Source(
        "K-htab-rqspinlock",
        "kernel/bpf/hashtab.c htab_lock_bucket, v6.15+",
        "'bpf: Convert hashtab.c to rqspinlock' (Kumar Kartikeya Dwivedi, 2025)",
        "the patch mail (code index id 26863236708); docs/second-reading/round5-issue21.md C1",
        False,
    ),
    Source(
        "K-verifier-timer",
        "kernel/bpf/verifier.c check_map_prog_compatibility, is_tracing_prog_type",
        "5e0bc3082e2e 'bpf: Forbid bpf_ktime_get_coarse_ns and bpf_timer_* in tracing progs' (v5.15) to "
        "1bfbc267ec91 'bpf: Enable bpf_timer and bpf_wq in any context' (2026), which removed the rule",
        "a verifier.c copy of the v5.15-v6.0 era (code index id 19860793386, map_value_has_timer); the "
        "v6.1 pre-image quoted by Kumar Kartikeya Dwivedi's RFC 'bpf: Fix deadlock for bpf_timer's "
        "spinlock' <20221106015152.2556188-2-memxor@gmail.com> (id 47992713758), never merged; "
        "docs/second-reading/round5-issue21.md C2",
        False,
    ),
    Source(
        "K-hrtimer",
        "kernel/time/hrtimer.c",
        "mainline (recent)",
        "torvalds/linux @009eb5da29a9 (code index id 47373314490)",
        True,
    ),
    Source(
        "K-wq",
        "kernel/workqueue.c",
        "mainline (v6.15 era, with the 2024 __cancel_work rework)",
        "code index ids 27863624729, 66466197 (process_one_work); 17110278, 34486579908, 67522572172",
        False,
    ),
    Source(
        "K-tw",
        "kernel/task_work.c",
        "mainline (recent, with TWA_NMI_CURRENT)",
        "Kingxukai/linux @9b44fff655e2c6f4cc53cb499dd2c038e99cb013; task_work_cancel_match: code index "
        "id 99478102",
        False,
    ),
    # ---- bpf_timer, bpf_wq and the rework (spec/bpf_async)
    Source(
        "K-lru",
        "kernel/bpf/hashtab.c htab_lru_map_update_elem, htab_lru_map_delete_elem, htab_lru_push_free, "
        "htab_lru_map_delete_node; kernel/bpf/bpf_lru_list.c bpf_common_lru_pop_free, "
        "__bpf_lru_list_shrink, bpf_lru_push_free",
        "v6.12 until the LRU locks become rqspinlock_t (Menglong Dong's series, October 2025, in no "
        "release read) or the 2026 rework defers the timer's cancel: raw_spinlock_t LRU locks, "
        "non-RT (hrtimer_cancel waits)",
        "torvalds/linux @11ba7ce076e5903e7bdc1fd1498979c331b3c286 (hashtab.c, v6.14 content); "
        "torvalds/linux @c39f2d9db0fd81ea20bb5cce9b3f082ca63753e2 (bpf_lru_list.c, commit age unknown); "
        "docs/second-reading/round8-b3.md, round5-issue21.md B3",
        False,
    ),
    Source(
        "K-verifier-spinlock",
        "kernel/bpf/verifier.c check_map_prog_compatibility, is_tracing_prog_type (a map value with a "
        "bpf_spin_lock)",
        "mainline up to at least the v6.18 era (the July 2026 series that would add fentry, fexit, "
        "fmod_ret and raw_tp to is_tracing_prog_type, kernel-patches/bpf PR #12864, was not merged in "
        "any copy read)",
        "code index id 52929472242 (v6.18-era content, repository not reported); id 19860793386 "
        "(v5.16-v6.1 era); docs/second-reading/round8-c3.md §2",
        False,
    ),
    Source(
        "K-trampoline",
        "kernel/bpf/trampoline.c __bpf_prog_enter_recur, bpf_trampoline_enter; kernel/trace/bpf_trace.c "
        "__bpf_trace_run (tp_btf)",
        "the per-prog recursion guard of ca06f55b9002 'bpf: Add per-program recursion prevention "
        "mechanism' (v5.12; tp_btf's from v6.2) to 2026",
        "torvalds/linux @0253073fb7d79a2dd2eae9581ea16db2aef395a6 (code index id 57443879084); "
        "docs/second-reading/round8-c3.md §4",
        True,
    ),
    Source(
        "V24",
        "kernel/bpf/helpers.c",
        "torvalds/linux 00a5acdbf39816ad23b8db3255c366bbc77e69af (about v6.12: bpf_wq, the 2023-24 fixes)",
        "torvalds/linux @00a5acdbf39816ad23b8db3255c366bbc77e69af (code index id 7615252070); "
        "GrapheneOS/kernel_common-6.12 @27661d84 (round4.md H612)",
        True,
    ),
    Source(
        "V21",
        "kernel/bpf/helpers.c",
        "b00628b1c7d5 'bpf: Introduce bpf timers.' (v5.15), before fd381ce60a2d",
        "an old helpers.c copy (code index id 11504868), the pre-images of fd381ce60a2d "
        "<20231030063616.1653024-1-houtao@huaweicloud.com> and of 0281b919e175",
        False,
    ),
    Source(
        "R1",
        "kernel/bpf/helpers.c",
        "1bfbc267ec91 'bpf: Enable bpf_timer and bpf_wq in any context' + 81502d7f20bf + 5000a097f82c (2026)",
        "a third-party split copy labelled linux-6.12-sparse, segments 7, 8, 9, 20 (code index ids "
        "52977838225, 52610596962, 52879649087, 52553486283); exact commit unverified",
        False,
    ),
    # ---- bpf_task_work (spec/bpf_task_work)
    Source(
        "V8",
        "kernel/bpf/helpers.c",
        "38aa7003e369 'bpf: task work scheduling kfuncs' (bpf-next, 2025-09-23)",
        "[PATCH bpf-next v8 7/9] <20250923112404.668720-8-mykyta.yatsenko5@gmail.com> (= 38aa7003e369 per "
        "its commit page); kernelorg-mirror/linux_kernel_git_martin.lau_bpf-next @45005ab189b6 (same code)",
        True,
    ),
]

SOURCES: dict[str, Source] = {s.tag: s for s in _ALL}
_TWICE = sorted({x.tag for x in _ALL if [y.tag for y in _ALL].count(x.tag) > 1})
if _TWICE:  # a second entry under one tag would silently replace the first
    raise SpecError(f"sources: tag(s) declared twice: {', '.join(_TWICE)}")


def pick(*tags: str) -> dict[str, Source]:
    """The Source entries of these tags, for ``spec.sources``."""
    missing = [t for t in tags if t not in SOURCES]
    if missing:
        raise SpecError(f"unknown source tag(s) {', '.join(missing)} (known: {', '.join(SOURCES)})")
    return {t: SOURCES[t] for t in tags}
