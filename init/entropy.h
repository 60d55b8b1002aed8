/* The random seed kept on DATA across boots. */
#ifndef BERTH_INIT_ENTROPY_H
#define BERTH_INIT_ENTROPY_H

/* Feeds last boot's seed to the kernel and writes a new one. The old seed
 * is removed (and the removal synced) before it is credited, so that a
 * crash can never make two boots credit the same seed. Credited only when
 * on_disk (a seed on a tmpfs fallback is new, not secret history). */
void entropy_seed(int on_disk);

#endif
