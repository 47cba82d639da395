/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iio-sim-dmac: the software DMA controller behind the simulated DMA
 * converters. What a board wires in hardware (which converter's FIFO feeds
 * which DMA channel) is wired here by the converter's device name.
 */
#ifndef IIO_SIM_DMAC_H
#define IIO_SIM_DMAC_H

#include <linux/device.h>
#include <linux/dmaengine.h>
#include <linux/ktime.h>

/*
 * What the converter at the other end of a channel does. move() runs in the
 * channel's thread with no lock held; due() and advance() in that thread
 * under the channel's spinlock, start() under it from issue_pending, and
 * repeat() under it from tx_submit, in the client's context: those may not
 * sleep. None of them may call back into the DMA controller.
 */
struct sim_dmac_peripheral {
	/* a transfer finds the converter idle: its queue had run empty */
	void (*start)(void *ctx);
	/* when the head transfer of @bytes, issued at @issued, is done;
	 * KTIME_MAX while the converter is stopped */
	ktime_t (*due)(void *ctx, size_t bytes, ktime_t issued);
	/* the next @len bytes of the stream go into @buf (to memory) or
	 * come out of it (to the device); @first starts a transfer */
	void (*move)(void *ctx, void *buf, size_t len, bool first);
	/* a transfer of @bytes ended; @moved: its data moved (not aborted) */
	void (*advance)(void *ctx, size_t bytes, bool moved, bool repeated);
	/* whether the converter's DMA repeats @tx until terminated (ADI's
	 * kernel asks for that for cyclic output blocks; mainline never) */
	bool (*repeat)(void *ctx, struct dma_async_tx_descriptor *tx);
};

/* Faults of the DMA controller itself, armed for the next N transfers. */
enum sim_dmac_fault {
	SIM_DMAC_REFUSE,	/* prep of a DMABUF (dma_vec) transfer fails */
	SIM_DMAC_ABORT,		/* the transfer is aborted: nothing moves */
};

int sim_dmac_connect(struct device *periph, const struct sim_dmac_peripheral *ops,
		     void *ctx);
void sim_dmac_disconnect(struct device *periph);
void sim_dmac_kick(struct device *periph);
unsigned int sim_dmac_queued(struct device *periph);
void sim_dmac_arm(struct device *periph, enum sim_dmac_fault fault,
		  unsigned int n);
unsigned int sim_dmac_armed(struct device *periph, enum sim_dmac_fault fault);
void sim_dmac_set_contiguous_only(struct device *periph, bool only);
bool sim_dmac_contiguous_only(struct device *periph);
void sim_dmac_set_irq_latency(struct device *periph, unsigned int us);
unsigned int sim_dmac_irq_latency(struct device *periph);
int sim_dmac_queue_marker(struct device *periph, size_t bytes,
			  void (*done)(void *data, int error), void *data);

#endif
