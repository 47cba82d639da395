// SPDX-License-Identifier: GPL-2.0
/*
 * iio-sim-dmac: a software DMA controller, a dmaengine provider standing in
 * for the hardware that ADI's dma-axi-dmac drives behind every ADI AXI
 * converter. Mainline's industrialio-buffer-dmaengine (loaded as it is) takes
 * its channels and drives them exactly as it drives axi-dmac:
 *
 * - DMABUF blocks through device_prep_peripheral_dma_vec (in 6.12 only
 *   dma-axi-dmac implements it), fileio blocks through device_prep_slave_sg;
 * - each vec's address and length must be multiples of the channel's bus
 *   width (what the buffer shows as length_align_bytes), else the prep
 *   fails, as axi-dmac's address and length checks make it fail;
 * - a vec longer than a hardware segment (SIM_DMAC_SEGMENT bytes, as
 *   axi-dmac's X_LENGTH register limits one) is moved as several segments;
 *   the device's max_seg_size is UINT_MAX, as axi-dmac sets it;
 * - descriptors complete in issue order, each when the converter at the
 *   other end has produced its bytes in real time (to memory: written at the
 *   end of the transfer's time) or consumed them (to the device: read when
 *   the transfer starts, so memory changed after the enqueue is not what
 *   plays), with callback_result (DMA_TRANS_NOERROR, residue 0), or
 *   DMA_TRANS_ABORTED and the whole length as residue for an aborted one;
 *   callbacks run with bottom halves off, as from axi-dmac's tasklet;
 * - terminate_all drops every descriptor without a callback (a fault marker
 *   ends with -EINTR); synchronize waits until no callback runs, as
 *   vchan_synchronize does for axi-dmac.
 *
 * There is no device tree on x86: channels are found through the provider's
 * slave map, by the converter's device name and "rx" or "tx". The CPU moves
 * the bytes, reaching memory through the DMA addresses (dma_to_phys): no
 * IOMMU sits between this device and memory.
 *
 * Faults (armed by the converters' sysfs knobs), on DMABUF (dma_vec)
 * transfers only: a prep the engine refuses (SIM_DMAC_REFUSE), a transfer it
 * aborts (SIM_DMAC_ABORT: axi-dmac never reports one; it stands for any
 * engine that does), an engine that takes only physically contiguous memory
 * (one vec per transfer, no scatter-gather). Of any interrupt-driven
 * engine: completions reported a set time after the transfer ended, as an
 * interrupt serviced late on a busy system (irq_latency_us).
 *
 * What it cannot show: QEMU does not model caches, so user space that
 * skips DMA_BUF_IOCTL_SYNC around CPU access is not caught here.
 */

#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "iio-sim-dmac.h"

#define SIM_DMAC_NAME		"iio-sim-dmac"
#define SIM_DMAC_SEGMENT	SZ_64K

/* The board's wiring: which converter sits on which channel. */
struct sim_dmac_wire {
	const char *devname;
	const char *slave;
	enum dma_transfer_direction direction;
	unsigned int width;	/* bus width in bytes */
};

static const struct sim_dmac_wire sim_dmac_wires[] = {
	{ "iio-sim.0", "rx", DMA_DEV_TO_MEM, 8 },	/* iio-sim-adc */
	{ "iio-sim.1", "rx", DMA_DEV_TO_MEM, 2 },	/* iio-sim-adc12 */
	{ "iio-sim.2", "tx", DMA_MEM_TO_DEV, 4 },	/* iio-sim-dac */
	{ "iio-sim.5", "tx", DMA_MEM_TO_DEV, 4 },	/* iio-sim-dac2 */
};

#define SIM_DMAC_CHANNELS ARRAY_SIZE(sim_dmac_wires)

static const struct dma_slave_map sim_dmac_map[] = {
	{ "iio-sim.0", "rx", (void *)0 },
	{ "iio-sim.1", "rx", (void *)1 },
	{ "iio-sim.2", "tx", (void *)2 },
	{ "iio-sim.5", "tx", (void *)3 },
};

struct sim_dmac_desc {
	struct dma_async_tx_descriptor tx;
	struct list_head node;
	ktime_t issued;
	size_t bytes;
	bool repeat;		/* repeats until terminated */
	bool dma_vec;		/* a DMABUF transfer: faults apply */
	bool fetched;		/* to the device: its bytes were read */
	bool aborted;		/* a fault: nothing moves */
	bool terminated;	/* dropped while in flight */
	void (*marker)(void *data, int error);	/* moves nothing */
	void *marker_data;
	unsigned int nvecs;
	struct dma_vec vecs[] __counted_by(nvecs);
};

struct sim_dmac_chan {
	struct dma_chan chan;
	const struct sim_dmac_wire *wire;
	struct task_struct *thread;
	wait_queue_head_t wq;
	struct mutex work_lock;	/* held while a transfer moves and completes */
	spinlock_t lock;	/* everything below */
	const struct sim_dmac_peripheral *periph;
	void *ctx;
	struct list_head submitted;
	struct list_head issued;	/* the head is the one in flight */
	struct sim_dmac_desc *in_flight;
	bool kick;
	bool contiguous_only;
	unsigned int irq_latency_us;
	unsigned int faults[2];
};

struct sim_dmac {
	struct dma_device dma;
	struct sim_dmac_chan chans[SIM_DMAC_CHANNELS];
};

static struct sim_dmac *sim_dmac_instance;
static DEFINE_MUTEX(sim_dmac_instance_lock);

static struct sim_dmac_chan *to_sim_chan(struct dma_chan *chan)
{
	return container_of(chan, struct sim_dmac_chan, chan);
}

static struct sim_dmac_desc *to_sim_desc(struct dma_async_tx_descriptor *tx)
{
	return container_of(tx, struct sim_dmac_desc, tx);
}

/* --- moving the bytes ------------------------------------------------------- */

static void sim_dmac_move_vec(struct sim_dmac_chan *c, dma_addr_t addr,
			      size_t len, bool *first)
{
	struct device *dev = c->chan.device->dev;

	while (len) {
		phys_addr_t phys = dma_to_phys(dev, addr);
		size_t off = offset_in_page(phys);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		u8 *p = kmap_local_page(pfn_to_page(PHYS_PFN(phys)));

		c->periph->move(c->ctx, p + off, n, *first);
		kunmap_local(p);
		*first = false;
		addr += n;
		len -= n;
	}
}

/* One pass over the transfer, segment by segment (a vec may span several). */
static void sim_dmac_move(struct sim_dmac_chan *c, struct sim_dmac_desc *d)
{
	bool first = true;
	unsigned int i;
	size_t done, n;

	for (i = 0; i < d->nvecs; i++)
		for (done = 0; done < d->vecs[i].len; done += n) {
			n = min_t(size_t, d->vecs[i].len - done,
				  SIM_DMAC_SEGMENT);
			sim_dmac_move_vec(c, d->vecs[i].addr + done, n, &first);
		}
}

/* --- the channel's thread: the hardware ------------------------------------- */

static bool sim_dmac_take_fault(struct sim_dmac_chan *c,
				enum sim_dmac_fault fault)
{
	if (!c->faults[fault])
		return false;
	c->faults[fault]--;
	return true;
}

static void sim_dmac_callback(struct sim_dmac_desc *d, bool aborted)
{
	struct dmaengine_result result = {
		.result = aborted ? DMA_TRANS_ABORTED : DMA_TRANS_NOERROR,
		.residue = aborted ? d->bytes : 0,
	};

	local_bh_disable();
	if (d->marker)
		d->marker(d->marker_data, 0);
	else if (d->tx.callback_result)
		d->tx.callback_result(d->tx.callback_param, &result);
	else if (d->tx.callback)
		d->tx.callback(d->tx.callback_param);
	local_bh_enable();
}

/* Ends the pass over @d; returns whether it completed (and is to be freed). */
static bool sim_dmac_finish(struct sim_dmac_chan *c, struct sim_dmac_desc *d,
			    bool moved)
{
	bool complete;

	spin_lock_irq(&c->lock);
	c->in_flight = NULL;
	if (d->terminated) {
		spin_unlock_irq(&c->lock);
		if (d->marker)
			d->marker(d->marker_data, -EINTR);
		kfree(d);
		return false;
	}
	complete = !d->repeat;
	if (complete) {
		list_del(&d->node);
		if (!d->marker)
			c->chan.completed_cookie = d->tx.cookie;
	} else {	/* the next pass starts now and reads anew */
		d->issued = ktime_get();
		d->fetched = false;
		d->aborted = false;
	}
	if (c->periph)
		c->periph->advance(c->ctx, d->bytes, moved, !complete);
	spin_unlock_irq(&c->lock);
	return complete;
}

static bool sim_dmac_to_device(struct sim_dmac_chan *c)
{
	return c->wire->direction == DMA_MEM_TO_DEV;
}

/* Whether the head's bytes are to be read now: a transfer to the device
 * reads its memory as it starts. With c->lock held. */
static bool sim_dmac_fetch_due(struct sim_dmac_chan *c, struct sim_dmac_desc *d,
			       ktime_t due)
{
	return sim_dmac_to_device(c) && !d->fetched && !d->marker &&
	       due != KTIME_MAX;
}

/* Moves the head's bytes, if that is due, with c->in_flight set. */
static void sim_dmac_move_head(struct sim_dmac_chan *c, struct sim_dmac_desc *d)
{
	if (d->dma_vec && sim_dmac_take_fault(c, SIM_DMAC_ABORT))
		d->aborted = true;
	spin_unlock_irq(&c->lock);
	if (!d->aborted && !d->marker)
		sim_dmac_move(c, d);
	spin_lock_irq(&c->lock);
	d->fetched = true;
}

/* When the head's end is reported: @due, late by the set interrupt
 * latency. With c->lock held. */
static ktime_t sim_dmac_reported(struct sim_dmac_chan *c, ktime_t due)
{
	return due == KTIME_MAX ? due : ktime_add_us(due, c->irq_latency_us);
}

/* Runs the head transfer's next step if it is due; with work_lock held. */
static void sim_dmac_run(struct sim_dmac_chan *c)
{
	struct sim_dmac_desc *d;
	bool moved;
	ktime_t due;

	spin_lock_irq(&c->lock);
	d = list_first_entry_or_null(&c->issued, struct sim_dmac_desc, node);
	if (!d || !c->periph) {
		spin_unlock_irq(&c->lock);
		return;
	}
	due = c->periph->due(c->ctx, d->bytes, d->issued);
	c->in_flight = d;
	if (sim_dmac_fetch_due(c, d, due)) {
		bool terminated;

		sim_dmac_move_head(c, d);
		c->in_flight = NULL;
		terminated = d->terminated;
		spin_unlock_irq(&c->lock);
		if (terminated)
			kfree(d);	/* never a marker: those move nothing */
		return;
	}
	if (ktime_before(ktime_get(), sim_dmac_reported(c, due))) {
		c->in_flight = NULL;
		spin_unlock_irq(&c->lock);
		return;
	}
	if (!sim_dmac_to_device(c))
		sim_dmac_move_head(c, d);
	moved = !d->aborted && !d->marker;
	spin_unlock_irq(&c->lock);

	if (!sim_dmac_finish(c, d, moved))
		return;
	sim_dmac_callback(d, d->aborted);
	kfree(d);
}

/* How long to sleep: until the head is due, or for a kick. */
static ktime_t sim_dmac_next_due(struct sim_dmac_chan *c)
{
	struct sim_dmac_desc *d;
	ktime_t due = KTIME_MAX;

	spin_lock_irq(&c->lock);
	c->kick = false;
	d = list_first_entry_or_null(&c->issued, struct sim_dmac_desc, node);
	if (d && c->periph)
		due = c->periph->due(c->ctx, d->bytes, d->issued);
	if (d && sim_dmac_fetch_due(c, d, due))
		due = 0;	/* read it now */
	else
		due = sim_dmac_reported(c, due);
	spin_unlock_irq(&c->lock);
	return due;
}

static int sim_dmac_thread(void *data)
{
	struct sim_dmac_chan *c = data;
	ktime_t due, now;

	/* every wake-up re-reads the queue and the clock: nothing is assumed */
	while (!kthread_should_stop()) {
		due = sim_dmac_next_due(c);
		now = ktime_get();
		if (due == KTIME_MAX) {
			wait_event_interruptible(c->wq, READ_ONCE(c->kick) ||
						 kthread_should_stop());
		} else if (due && ktime_before(now, due)) {
			wait_event_interruptible_hrtimeout(c->wq,
				READ_ONCE(c->kick) || kthread_should_stop(),
				ktime_sub(due, now));
		} else {
			mutex_lock(&c->work_lock);
			sim_dmac_run(c);
			mutex_unlock(&c->work_lock);
		}
	}
	return 0;
}

/* With c->lock held. */
static void sim_dmac_kick_locked(struct sim_dmac_chan *c)
{
	c->kick = true;
	wake_up_interruptible(&c->wq);
}

/* --- dmaengine provider ops ----------------------------------------------------- */

static dma_cookie_t sim_dmac_tx_submit(struct dma_async_tx_descriptor *tx)
{
	struct sim_dmac_chan *c = to_sim_chan(tx->chan);
	struct sim_dmac_desc *d = to_sim_desc(tx);
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&c->lock, flags);
	cookie = c->chan.cookie + 1;
	if (cookie < DMA_MIN_COOKIE)
		cookie = DMA_MIN_COOKIE;
	c->chan.cookie = cookie;
	tx->cookie = cookie;
	d->repeat = (tx->flags & DMA_PREP_REPEAT) ||
		    (c->periph && c->periph->repeat &&
		     c->periph->repeat(c->ctx, tx));
	list_add_tail(&d->node, &c->submitted);
	spin_unlock_irqrestore(&c->lock, flags);
	return cookie;
}

static struct sim_dmac_desc *sim_dmac_alloc_desc(struct sim_dmac_chan *c,
						 unsigned int nvecs,
						 unsigned long flags)
{
	struct sim_dmac_desc *d;

	d = kzalloc(struct_size(d, vecs, nvecs), GFP_NOWAIT);
	if (!d)
		return NULL;
	d->nvecs = nvecs;
	dma_async_tx_descriptor_init(&d->tx, &c->chan);
	d->tx.tx_submit = sim_dmac_tx_submit;
	d->tx.flags = flags;
	return d;
}

/* As axi-dmac's checks: no empty or misaligned piece. */
static bool sim_dmac_vec_ok(struct sim_dmac_chan *c, dma_addr_t addr,
			    size_t len)
{
	unsigned int mask = c->wire->width - 1;

	return len && !(addr & mask) && !(len & mask);
}

static struct dma_async_tx_descriptor *
sim_dmac_prep_dma_vec(struct dma_chan *chan, const struct dma_vec *vecs,
		      size_t nents, enum dma_transfer_direction direction,
		      unsigned long flags)
{
	struct sim_dmac_chan *c = to_sim_chan(chan);
	struct sim_dmac_desc *d;
	unsigned long irqflags;
	bool refuse;
	size_t i;

	if (direction != c->wire->direction || !nents)
		return NULL;
	spin_lock_irqsave(&c->lock, irqflags);
	refuse = sim_dmac_take_fault(c, SIM_DMAC_REFUSE) ||
		 (c->contiguous_only && nents > 1);
	spin_unlock_irqrestore(&c->lock, irqflags);
	if (refuse)
		return NULL;
	for (i = 0; i < nents; i++)
		if (!sim_dmac_vec_ok(c, vecs[i].addr, vecs[i].len))
			return NULL;

	d = sim_dmac_alloc_desc(c, nents, flags);
	if (!d)
		return NULL;
	for (i = 0; i < nents; i++) {
		d->vecs[i] = vecs[i];
		d->bytes += vecs[i].len;
	}
	d->dma_vec = true;
	return &d->tx;
}

static struct dma_async_tx_descriptor *
sim_dmac_prep_slave_sg(struct dma_chan *chan, struct scatterlist *sgl,
		       unsigned int sg_len, enum dma_transfer_direction direction,
		       unsigned long flags, void *context)
{
	struct sim_dmac_chan *c = to_sim_chan(chan);
	struct scatterlist *sg;
	struct sim_dmac_desc *d;
	unsigned int i;

	if (direction != c->wire->direction || !sg_len)
		return NULL;
	for_each_sg(sgl, sg, sg_len, i)
		if (!sim_dmac_vec_ok(c, sg_dma_address(sg), sg_dma_len(sg)))
			return NULL;

	d = sim_dmac_alloc_desc(c, sg_len, flags);
	if (!d)
		return NULL;
	for_each_sg(sgl, sg, sg_len, i) {
		d->vecs[i].addr = sg_dma_address(sg);
		d->vecs[i].len = sg_dma_len(sg);
		d->bytes += sg_dma_len(sg);
	}
	return &d->tx;
}

static void sim_dmac_issue_pending(struct dma_chan *chan)
{
	struct sim_dmac_chan *c = to_sim_chan(chan);
	ktime_t now = ktime_get();
	struct sim_dmac_desc *d;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	if (!list_empty(&c->submitted)) {
		list_for_each_entry(d, &c->submitted, node)
			d->issued = now;
		if (list_empty(&c->issued) && c->periph)
			c->periph->start(c->ctx);
		list_splice_tail_init(&c->submitted, &c->issued);
		sim_dmac_kick_locked(c);
	}
	spin_unlock_irqrestore(&c->lock, flags);
}

static enum dma_status sim_dmac_tx_status(struct dma_chan *chan,
					  dma_cookie_t cookie,
					  struct dma_tx_state *state)
{
	dma_cookie_t last = chan->completed_cookie, used = chan->cookie;

	dma_set_tx_state(state, last, used, 0);
	return dma_async_is_complete(cookie, last, used);
}

/* Fault markers end with -EINTR, as the IIO core's abort ends blocks. */
static void sim_dmac_free_list(struct list_head *list)
{
	struct sim_dmac_desc *d, *tmp;

	list_for_each_entry_safe(d, tmp, list, node) {
		if (d->marker)
			d->marker(d->marker_data, -EINTR);
		kfree(d);
	}
}

static int sim_dmac_terminate_all(struct dma_chan *chan)
{
	struct sim_dmac_chan *c = to_sim_chan(chan);
	unsigned long flags;
	LIST_HEAD(drop);

	spin_lock_irqsave(&c->lock, flags);
	if (c->in_flight && !c->in_flight->terminated) {
		/* its pass ends in the thread, unreported */
		c->in_flight->terminated = true;
		list_del(&c->in_flight->node);
	}
	list_splice_tail_init(&c->submitted, &drop);
	list_splice_tail_init(&c->issued, &drop);
	sim_dmac_kick_locked(c);
	spin_unlock_irqrestore(&c->lock, flags);

	sim_dmac_free_list(&drop);
	return 0;
}

static void sim_dmac_synchronize(struct dma_chan *chan)
{
	struct sim_dmac_chan *c = to_sim_chan(chan);

	mutex_lock(&c->work_lock);	/* no transfer or callback runs now */
	mutex_unlock(&c->work_lock);
}

static void sim_dmac_free_chan_resources(struct dma_chan *chan)
{
	sim_dmac_terminate_all(chan);
	sim_dmac_synchronize(chan);
}

static void sim_dmac_caps(struct dma_chan *chan, struct dma_slave_caps *caps)
{
	struct sim_dmac_chan *c = to_sim_chan(chan);

	caps->directions = BIT(c->wire->direction);
	caps->src_addr_widths = BIT(c->wire->width);
	caps->dst_addr_widths = BIT(c->wire->width);
}

static bool sim_dmac_filter(struct dma_chan *chan, void *param)
{
	return chan->chan_id == (uintptr_t)param;
}

/* --- the converters' side of the wiring ------------------------------------------ */

/* With sim_dmac_instance_lock held. */
static struct sim_dmac_chan *sim_dmac_find(struct device *periph)
{
	unsigned int i;

	if (!sim_dmac_instance)
		return NULL;
	for (i = 0; i < SIM_DMAC_CHANNELS; i++)
		if (!strcmp(sim_dmac_wires[i].devname, dev_name(periph)))
			return &sim_dmac_instance->chans[i];
	return NULL;
}

static struct sim_dmac_chan *sim_dmac_get(struct device *periph)
{
	struct sim_dmac_chan *c;

	mutex_lock(&sim_dmac_instance_lock);
	c = sim_dmac_find(periph);
	mutex_unlock(&sim_dmac_instance_lock);
	return c;
}

int sim_dmac_connect(struct device *periph,
		     const struct sim_dmac_peripheral *ops, void *ctx)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);

	if (!c)
		return -EPROBE_DEFER;
	spin_lock_irq(&c->lock);
	c->periph = ops;
	c->ctx = ctx;
	spin_unlock_irq(&c->lock);
	return 0;
}
EXPORT_SYMBOL_GPL(sim_dmac_connect);

/* After the channel was released: nothing is in flight. */
void sim_dmac_disconnect(struct device *periph)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);

	if (!c)
		return;
	mutex_lock(&c->work_lock);
	spin_lock_irq(&c->lock);
	c->periph = NULL;
	c->ctx = NULL;
	spin_unlock_irq(&c->lock);
	mutex_unlock(&c->work_lock);
}
EXPORT_SYMBOL_GPL(sim_dmac_disconnect);

/* The converter's clock changed (a stall ended): look at the queue again. */
void sim_dmac_kick(struct device *periph)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);

	if (!c)
		return;
	spin_lock_irq(&c->lock);
	sim_dmac_kick_locked(c);
	spin_unlock_irq(&c->lock);
}
EXPORT_SYMBOL_GPL(sim_dmac_kick);

unsigned int sim_dmac_queued(struct device *periph)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);
	unsigned int n;

	if (!c)
		return 0;
	spin_lock_irq(&c->lock);
	n = list_count_nodes(&c->issued) + list_count_nodes(&c->submitted);
	spin_unlock_irq(&c->lock);
	return n;
}
EXPORT_SYMBOL_GPL(sim_dmac_queued);

void sim_dmac_arm(struct device *periph, enum sim_dmac_fault fault,
		  unsigned int n)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);

	if (!c)
		return;
	spin_lock_irq(&c->lock);
	c->faults[fault] = n;
	spin_unlock_irq(&c->lock);
}
EXPORT_SYMBOL_GPL(sim_dmac_arm);

unsigned int sim_dmac_armed(struct device *periph, enum sim_dmac_fault fault)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);

	return c ? READ_ONCE(c->faults[fault]) : 0;
}
EXPORT_SYMBOL_GPL(sim_dmac_armed);

void sim_dmac_set_contiguous_only(struct device *periph, bool only)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);

	if (c)
		WRITE_ONCE(c->contiguous_only, only);
}
EXPORT_SYMBOL_GPL(sim_dmac_set_contiguous_only);

bool sim_dmac_contiguous_only(struct device *periph)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);

	return c && READ_ONCE(c->contiguous_only);
}
EXPORT_SYMBOL_GPL(sim_dmac_contiguous_only);

void sim_dmac_set_irq_latency(struct device *periph, unsigned int us)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);
	unsigned long flags;

	if (!c)
		return;
	spin_lock_irqsave(&c->lock, flags);
	c->irq_latency_us = us;
	sim_dmac_kick_locked(c);
	spin_unlock_irqrestore(&c->lock, flags);
}
EXPORT_SYMBOL_GPL(sim_dmac_set_irq_latency);

unsigned int sim_dmac_irq_latency(struct device *periph)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);

	return c ? READ_ONCE(c->irq_latency_us) : 0;
}
EXPORT_SYMBOL_GPL(sim_dmac_irq_latency);

/*
 * Queues a transfer of @bytes that moves nothing and calls @done when it
 * would have completed (0), or when it is terminated (-EINTR). For the
 * converters' own fault injection; issued at once.
 */
int sim_dmac_queue_marker(struct device *periph, size_t bytes,
			  void (*done)(void *data, int error), void *data)
{
	struct sim_dmac_chan *c = sim_dmac_get(periph);
	struct sim_dmac_desc *d;

	if (!c)
		return -ENODEV;
	d = sim_dmac_alloc_desc(c, 0, 0);
	if (!d)
		return -ENOMEM;
	d->bytes = bytes;
	d->marker = done;
	d->marker_data = data;
	spin_lock_irq(&c->lock);
	list_add_tail(&d->node, &c->submitted);
	spin_unlock_irq(&c->lock);
	sim_dmac_issue_pending(&c->chan);
	return 0;
}
EXPORT_SYMBOL_GPL(sim_dmac_queue_marker);

/* --- device life cycle -------------------------------------------------------------- */

static void sim_dmac_stop_threads(struct sim_dmac *dmac)
{
	unsigned int i;

	for (i = 0; i < SIM_DMAC_CHANNELS; i++)
		if (!IS_ERR_OR_NULL(dmac->chans[i].thread))
			kthread_stop(dmac->chans[i].thread);
}

static int sim_dmac_init_chan(struct sim_dmac *dmac, unsigned int i)
{
	struct sim_dmac_chan *c = &dmac->chans[i];

	c->wire = &sim_dmac_wires[i];
	c->chan.device = &dmac->dma;
	spin_lock_init(&c->lock);
	mutex_init(&c->work_lock);
	init_waitqueue_head(&c->wq);
	INIT_LIST_HEAD(&c->submitted);
	INIT_LIST_HEAD(&c->issued);
	list_add_tail(&c->chan.device_node, &dmac->dma.channels);
	c->thread = kthread_run(sim_dmac_thread, c, "%s.%u", SIM_DMAC_NAME, i);
	return PTR_ERR_OR_ZERO(c->thread);
}

static void sim_dmac_init_device(struct sim_dmac *dmac, struct device *dev)
{
	struct dma_device *dd = &dmac->dma;

	dd->dev = dev;
	INIT_LIST_HEAD(&dd->channels);
	dma_cap_set(DMA_SLAVE, dd->cap_mask);
	dma_cap_set(DMA_PRIVATE, dd->cap_mask);
	dd->directions = BIT(DMA_DEV_TO_MEM) | BIT(DMA_MEM_TO_DEV);
	dd->residue_granularity = DMA_RESIDUE_GRANULARITY_DESCRIPTOR;
	dd->device_caps = sim_dmac_caps;
	dd->device_free_chan_resources = sim_dmac_free_chan_resources;
	dd->device_prep_slave_sg = sim_dmac_prep_slave_sg;
	dd->device_prep_peripheral_dma_vec = sim_dmac_prep_dma_vec;
	dd->device_issue_pending = sim_dmac_issue_pending;
	dd->device_tx_status = sim_dmac_tx_status;
	dd->device_terminate_all = sim_dmac_terminate_all;
	dd->device_synchronize = sim_dmac_synchronize;
	dd->filter.map = sim_dmac_map;
	dd->filter.mapcnt = ARRAY_SIZE(sim_dmac_map);
	dd->filter.fn = sim_dmac_filter;
}

static int sim_dmac_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct sim_dmac *dmac;
	unsigned int i;
	int ret;

	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	dma_set_max_seg_size(dev, UINT_MAX);	/* as axi-dmac */
	dmac = devm_kzalloc(dev, sizeof(*dmac), GFP_KERNEL);
	if (!dmac)
		return -ENOMEM;
	sim_dmac_init_device(dmac, dev);
	for (i = 0; i < SIM_DMAC_CHANNELS; i++) {
		ret = sim_dmac_init_chan(dmac, i);
		if (ret)
			goto err;
	}
	ret = dma_async_device_register(&dmac->dma);
	if (ret)
		goto err;
	platform_set_drvdata(pdev, dmac);
	mutex_lock(&sim_dmac_instance_lock);
	sim_dmac_instance = dmac;
	mutex_unlock(&sim_dmac_instance_lock);
	return 0;
err:
	sim_dmac_stop_threads(dmac);
	return ret;
}

static void sim_dmac_remove(struct platform_device *pdev)
{
	struct sim_dmac *dmac = platform_get_drvdata(pdev);

	mutex_lock(&sim_dmac_instance_lock);
	sim_dmac_instance = NULL;
	mutex_unlock(&sim_dmac_instance_lock);
	dma_async_device_unregister(&dmac->dma);
	sim_dmac_stop_threads(dmac);
}

static struct platform_driver sim_dmac_driver = {
	.driver = {
		.name = SIM_DMAC_NAME,
		/* channels in use must not vanish: no unbind through sysfs */
		.suppress_bind_attrs = true,
	},
	.probe = sim_dmac_probe,
	.remove = sim_dmac_remove,
};

static struct platform_device *sim_dmac_pdev;

static int __init sim_dmac_init(void)
{
	int ret;

	ret = platform_driver_register(&sim_dmac_driver);
	if (ret)
		return ret;
	sim_dmac_pdev = platform_device_register_simple(SIM_DMAC_NAME, -1,
							NULL, 0);
	if (IS_ERR(sim_dmac_pdev)) {
		platform_driver_unregister(&sim_dmac_driver);
		return PTR_ERR(sim_dmac_pdev);
	}
	return 0;
}

static void __exit sim_dmac_exit(void)
{
	platform_device_unregister(sim_dmac_pdev);
	platform_driver_unregister(&sim_dmac_driver);
}

module_init(sim_dmac_init);
module_exit(sim_dmac_exit);

MODULE_DESCRIPTION("Software DMA controller for the simulated IIO converters");
MODULE_LICENSE("GPL");
