"""Kernel building blocks, written once and composed by every design model.

Each module is the modelled semantics of one kernel primitive as plain functions over the spec
language's values (so BFS, the compiled engine and Z3 read them alike), with the source it follows
and its behaviour witnesses (``spec/kernel/harness.py`` builds one small spec per block and
``tests/test_kernel_blocks.py`` checks that each witness is reachable, i.e. that the block allows what
the kernel allows):

- ``rcu``: grace periods that wait exactly for the readers in flight when they start.
- ``llist``: lock-free singly linked lists (llist_add, llist_del_all, llist_reverse_order).
- ``irq_work``: the PENDING/BUSY flag word, claim, run, the runner's final cmpxchg, irq_work_sync.
- ``prog``: prog->aux->refcnt, bpf_prog_inc_not_zero and the deferred free path.
- ``bpf_map``: map refcnt/usercnt and what dropping the last user reference triggers.
- ``hrtimer``: a soft hrtimer: start (also while its callback runs), expiry, try_to_cancel, cancel.
- ``workqueue``: a work item: schedule_work, the worker, cancel_work, cancel_work_sync, work_busy.
- ``task_work``: task_work_add (fails once the task exits), task_work_cancel, the run on return.
- ``nesting``: two contexts per CPU (a task level, and a tracing or NMI prog nested inside it) whose
  locks name their owner context, and a resilient lock's -EDEADLK / -ETIMEDOUT.
"""
