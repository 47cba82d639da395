// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated IIO converters for testing user space against the real IIO
 * buffer and DMABUF ABI.
 *
 * Four platform devices are created. Three sit on the kernel's IIO DMA buffer
 * core, exactly as converters behind a DMA controller do; the CPU plays the
 * DMA controller, filling or draining each block (DMABUF sg_table or fileio
 * vaddr) when its time at the sampling frequency has passed:
 *
 *   iio-sim-adc    input, voltage0..3 le:s16/16>>0 and a timestamp
 *   iio-sim-adc12  input, voltage0..2 le:s12/16>>4
 *   iio-sim-dac    output, voltage0..1 le:s16/16>>0; CYCLIC as mainline's
 *                  dmaengine buffer treats it (played once), or repeated
 *                  in hardware as ADI's kernel does (cyclic_repeat=1)
 *
 * and one, iio-sim-kfifo (input, voltage0..1 le:s16/16>>0), sits on a kfifo
 * buffer: read() only, no DMABUF. iio-sim-triggered (input, voltage0..1
 * le:s16/16>>0 and a timestamp) sits on the triggered buffer core, as most
 * SPI and I2C converters do: it takes one scan each time the trigger
 * selected in trigger/current_trigger fires (iio-trig-hrtimer,
 * iio-trig-sysfs), and nothing without one.
 *
 * Content is deterministic: sample k (counted from buffer enable, advancing
 * with time, so samples are lost while no block is queued) of channel c holds
 * (k + c * 0x100) mod 2^realbits, shifted into place. The timestamp channel
 * (last in the scan, as the IIO core lays it out) holds k /
 * sampling_frequency in nanoseconds, rounded down. "waveform" switches to a
 * sine.
 * "lossless=1" (inputs) makes the sample clock wait for user space instead:
 * a late reader loses nothing, so tests of exact data do not depend on how
 * fast the host is.
 *
 * Counters: lost_samples (inputs); consumed_bytes, checksum (64-bit FNV-1a of
 * every byte consumed in order), cyclic_repeats and underflows (the DAC); all
 * reset when the buffer is enabled.
 *
 * Fault knobs: fault_eio_blocks=N completes the next N blocks with -EIO on
 * their fence; fault_submit_blocks=N fails the next N submits inside the DMA
 * buffer core, as a driver's DMA prep error does (the enqueue succeeds, the
 * fence signals at once with the error, the block stays busy until its
 * DMABUF is attached again); fault_stall=1 stops completing blocks until
 * cleared; contiguous_only=1 fails the submit of a DMABUF in more than one
 * piece, as a DMA engine without scatter-gather does.
 *
 * Benchmarks: unpaced=1 (DMA models) completes each block as soon as it is
 * at the head of the queue and has been queued unpaced_us (default 100),
 * whatever its size, without the CPU filling or reading it (its content is
 * whatever the memory held; the DAC counts consumed_bytes but no
 * checksum), so what is measured is user space and the ABI, not the
 * simulated converter. The wait is physics kept: no transfer completes
 * before its fence is exported after the ENQUEUE, and user space tells a
 * failed submit by that (see the kernel reference); a traced or slowed
 * process needs a longer one. Removal while streaming: unbind the platform device
 * (drivers/iio-sim/unbind).
 *
 * Observers: enable_count (buffer enables since load, never reset) and
 * queued_at_enable (blocks queued when the buffer was last enabled).
 */

#include <linux/delay.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/fixp-arith.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include <linux/iio/buffer.h>
#include <linux/iio/buffer-dma.h>
#include <linux/iio/buffer_impl.h>
#include <linux/iio/iio.h>
#include <linux/iio/kfifo_buf.h>
#include <linux/iio/sysfs.h>
#include <linux/iio/trigger.h>
#include <linux/iio/trigger_consumer.h>
#include <linux/iio/triggered_buffer.h>

#define SIM_DRIVER_NAME		"iio-sim"
#define SIM_MAX_SCAN_ELEMENTS	8
#define SIM_BOUNCE_SIZE		SZ_16K
#define SIM_KFIFO_PERIOD_NS	(NSEC_PER_MSEC)
#define SIM_KFIFO_MAX_BURST	65536
#define FNV1A64_OFFSET		0xcbf29ce484222325ULL
#define FNV1A64_PRIME		0x100000001b3ULL

enum sim_model_id {
	SIM_ADC,
	SIM_ADC12,
	SIM_DAC,
	SIM_KFIFO,
	SIM_TRIGGERED,
	SIM_NUM_MODELS,
};

struct sim_model {
	const char *name;
	const struct iio_chan_spec *channels;
	unsigned int num_channels;
	enum iio_buffer_direction direction;
	bool dma;
	bool triggered;
	unsigned int default_frequency;
	const struct iio_info *info;
};

/* One queued transfer: a DMA core block, or a block we fail on purpose. */
struct sim_slot {
	struct list_head head;
	struct iio_dma_buffer_block *block;	/* NULL for an injected fault */
	struct dma_fence *fault_fence;
	size_t bytes;
	bool cyclic;
	ktime_t queued;
};

struct sim_element {
	unsigned int offset;
	unsigned int storage_bytes;
	unsigned int realbits;
	unsigned int shift;
	unsigned int channel;
	bool timestamp;
};

/*
 * Lives as long as the IIO buffer (user space may hold it after the device is
 * gone), so the buffer's release frees it.
 */
struct sim_state {
	struct iio_dma_buffer_queue queue;	/* DMA models only */
	struct iio_dev *indio_dev;
	const struct sim_model *model;
	struct task_struct *thread;
	wait_queue_head_t wq;
	struct mutex work_lock;	/* serialises a transfer against abort */
	spinlock_t lock;	/* everything below */
	struct list_head slots;
	bool running;
	bool enabling;
	bool gone;
	bool kick;
	ktime_t t0;
	u64 next_k;		/* first sample not yet produced or consumed */
	u64 head_k;		/* first sample of the head slot */
	unsigned int frequency;
	bool sine;
	bool lossless;
	unsigned int fault_eio_blocks;
	unsigned int fault_submit_blocks;
	unsigned int cyclic_repeat;	/* repeat CYCLIC blocks (ADI), or not */
	unsigned int contiguous_only;	/* a DMA engine without scatter-gather */
	unsigned int unpaced;		/* benchmarks: no clock, no data moved */
	unsigned int unpaced_us;	/* ... each block taking this long */
	bool stall;
	u64 enable_count;
	u64 queued_at_enable;
	u64 lost_samples;
	u64 consumed_bytes;
	u64 checksum;
	u64 cyclic_repeats;
	u64 underflows;
	struct sim_element layout[SIM_MAX_SCAN_ELEMENTS];
	unsigned int layout_len;
	unsigned int scan_bytes;
	u8 *bounce;
};

#define SIM_MIN_FREQUENCY 1
#define SIM_MAX_FREQUENCY 100000000

/* --- channels ------------------------------------------------------------ */

#define SIM_CHAN(_idx, _bits, _shift, _out) {				\
	.type = IIO_VOLTAGE,						\
	.indexed = 1,							\
	.output = (_out),						\
	.channel = (_idx),						\
	.scan_index = (_idx),						\
	.info_mask_separate = BIT(IIO_CHAN_INFO_RAW),			\
	.info_mask_shared_by_type = BIT(IIO_CHAN_INFO_SCALE),		\
	.info_mask_shared_by_all = BIT(IIO_CHAN_INFO_SAMP_FREQ),	\
	.info_mask_shared_by_all_available = BIT(IIO_CHAN_INFO_SAMP_FREQ), \
	.scan_type = {							\
		.sign = 's',						\
		.realbits = (_bits),					\
		.storagebits = 16,					\
		.shift = (_shift),					\
		.endianness = IIO_LE,					\
	},								\
}

static const struct iio_chan_spec sim_adc_channels[] = {
	SIM_CHAN(0, 16, 0, 0),
	SIM_CHAN(1, 16, 0, 0),
	SIM_CHAN(2, 16, 0, 0),
	SIM_CHAN(3, 16, 0, 0),
	IIO_CHAN_SOFT_TIMESTAMP(4),
};

static const struct iio_chan_spec sim_adc12_channels[] = {
	SIM_CHAN(0, 12, 4, 0),
	SIM_CHAN(1, 12, 4, 0),
	SIM_CHAN(2, 12, 4, 0),
};

static const struct iio_chan_spec sim_dac_channels[] = {
	SIM_CHAN(0, 16, 0, 1),
	SIM_CHAN(1, 16, 0, 1),
};

static const struct iio_chan_spec sim_kfifo_channels[] = {
	SIM_CHAN(0, 16, 0, 0),
	SIM_CHAN(1, 16, 0, 0),
};

/* Scan elements only: the trigger's rate is the rate. */
#define SIM_TRIG_CHAN(_idx) {						\
	.type = IIO_VOLTAGE,						\
	.indexed = 1,							\
	.channel = (_idx),						\
	.scan_index = (_idx),						\
	.scan_type = {							\
		.sign = 's',						\
		.realbits = 16,						\
		.storagebits = 16,					\
		.endianness = IIO_LE,					\
	},								\
}

static const struct iio_chan_spec sim_triggered_channels[] = {
	SIM_TRIG_CHAN(0),
	SIM_TRIG_CHAN(1),
	IIO_CHAN_SOFT_TIMESTAMP(2),
};

/* --- the timeline ---------------------------------------------------------- */

static u64 sim_now_k(struct sim_state *st)
{
	s64 ns = ktime_to_ns(ktime_sub(ktime_get(), st->t0));

	return ns <= 0 ? 0 : mul_u64_u32_div(ns, st->frequency, NSEC_PER_SEC);
}

static ktime_t sim_time_of(struct sim_state *st, u64 k)
{
	return ktime_add_ns(st->t0, mul_u64_u32_div(k, NSEC_PER_SEC,
						    st->frequency));
}

/* Moves the timeline so that sample @k is due now. */
static void sim_rebase(struct sim_state *st, u64 k)
{
	st->t0 = ktime_sub_ns(ktime_get(),
			      mul_u64_u32_div(k, NSEC_PER_SEC, st->frequency));
}

/*
 * A block that finds the converter idle starts at the current sample, or,
 * lossless, at the next one not yet produced.
 */
static void sim_start_idle(struct sim_state *st)
{
	u64 now;

	if (st->enabling) {	/* blocks queued before enable start at 0 */
		st->t0 = ktime_get();
		return;
	}
	if (st->lossless || st->unpaced) {
		sim_rebase(st, st->next_k);
		st->head_k = st->next_k;
		return;
	}
	now = sim_now_k(st);
	st->head_k = max(st->next_k, now);
	if (st->head_k == st->next_k)
		return;
	if (st->model->direction == IIO_BUFFER_DIRECTION_IN)
		st->lost_samples += st->head_k - st->next_k;
	else if (st->next_k)
		st->underflows++;
}

/* --- sample content ------------------------------------------------------- */

static unsigned int sim_add_element(struct sim_state *st, unsigned int n,
				    unsigned int *offset,
				    const struct iio_chan_spec *chan)
{
	unsigned int bytes = chan->scan_type.storagebits / 8;

	*offset = ALIGN(*offset, bytes);
	st->layout[n] = (struct sim_element) {
		.offset = *offset,
		.storage_bytes = bytes,
		.realbits = chan->scan_type.realbits,
		.shift = chan->scan_type.shift,
		.channel = chan->channel,
		.timestamp = chan->type == IIO_TIMESTAMP,
	};
	*offset += bytes;
	return n + 1;
}

/*
 * The enabled channels in scan order. The timestamp is not in the scan
 * mask: the IIO core keeps it apart (scan_timestamp) and lays it out last,
 * as iio_push_to_buffers_with_timestamp() fills it.
 */
static void sim_compute_layout(struct sim_state *st)
{
	struct iio_dev *indio_dev = st->indio_dev;
	const struct iio_chan_spec *chan;
	unsigned int offset = 0, n = 0, i;
	int bit;

	for_each_set_bit(bit, indio_dev->active_scan_mask,
			 iio_get_masklength(indio_dev)) {
		chan = &st->model->channels[bit];
		if (chan->type == IIO_TIMESTAMP)
			continue;
		n = sim_add_element(st, n, &offset, chan);
		if (n == SIM_MAX_SCAN_ELEMENTS - 1)
			break;
	}
	for (i = 0; i < st->model->num_channels && indio_dev->scan_timestamp; i++)
		if (st->model->channels[i].type == IIO_TIMESTAMP)
			n = sim_add_element(st, n, &offset,
					    &st->model->channels[i]);
	st->layout_len = n;
	st->scan_bytes = indio_dev->scan_bytes;
}

static u64 sim_sample(struct sim_state *st, const struct sim_element *el, u64 k)
{
	u64 mask = GENMASK_ULL(el->realbits - 1, 0);
	u32 period, phase;
	s64 v;

	if (el->timestamp)
		return mul_u64_u32_div(k, NSEC_PER_SEC, st->frequency);
	if (!st->sine)
		return ((k + el->channel * 0x100) & mask) << el->shift;
	/* channel c: (c + 1) kHz at half scale; phase in 1/256 degree */
	period = max(4U, st->frequency / (1000 * (el->channel + 1)));
	phase = div_u64((u64)do_div(k, period) * 360 * 256, period);
	v = fixp_sin32(phase >> 8);
	v += div_s64((fixp_sin32((phase >> 8) + 1) - v) * (s64)(phase & 255),
		     256);
	v >>= 32 - el->realbits + 1;
	return ((u64)v & mask) << el->shift;
}

static void sim_put_le(u8 *dst, u64 v, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++)
		dst[i] = v >> (8 * i);
}

static void sim_make_scans(struct sim_state *st, u8 *dst, u64 k,
			   unsigned int scans)
{
	const struct sim_element *el;
	unsigned int i, j;

	memset(dst, 0, (size_t)scans * st->scan_bytes);
	for (i = 0; i < scans; i++, k++, dst += st->scan_bytes) {
		for (j = 0; j < st->layout_len; j++) {
			el = &st->layout[j];
			sim_put_le(dst + el->offset, sim_sample(st, el, k),
				   el->storage_bytes);
		}
	}
}

/* --- moving bytes to and from blocks ----------------------------------------- */

/*
 * Walks a block's memory in order: the fileio vaddr or the pages of the
 * DMABUF's sg_table.
 */
struct sim_cursor {
	struct sg_mapping_iter miter;
	u8 *vaddr;
	size_t left;
	bool sg;
};

static void sim_cursor_start(struct sim_cursor *c,
			     struct iio_dma_buffer_block *block,
			     size_t bytes, unsigned int flags)
{
	c->left = bytes;
	c->sg = !block->fileio;
	c->vaddr = block->vaddr;
	if (c->sg)
		sg_miter_start(&c->miter, block->sg_table->sgl,
			       block->sg_table->orig_nents, flags);
}

/* Returns the next piece of the block, at most @max bytes, or NULL at end. */
static u8 *sim_cursor_next(struct sim_cursor *c, size_t max, size_t *len)
{
	u8 *p;

	if (!c->left)
		return NULL;
	if (!c->sg) {
		*len = min(max, c->left);
		p = c->vaddr;
		c->vaddr += *len;
		c->left -= *len;
		return p;
	}
	if (!c->miter.length || c->miter.consumed == c->miter.length) {
		if (!sg_miter_next(&c->miter))
			return NULL;
		c->miter.consumed = 0;
	}
	*len = min3(max, c->left, c->miter.length - c->miter.consumed);
	p = (u8 *)c->miter.addr + c->miter.consumed;
	c->miter.consumed += *len;
	c->left -= *len;
	return p;
}

static void sim_cursor_stop(struct sim_cursor *c)
{
	if (c->sg)
		sg_miter_stop(&c->miter);
}

static void sim_fill_block(struct sim_state *st,
			   struct iio_dma_buffer_block *block, u64 k,
			   size_t bytes)
{
	unsigned int per_bounce = SIM_BOUNCE_SIZE / st->scan_bytes;
	size_t have = 0, used = 0, len;
	struct sim_cursor c;
	u8 *p;

	sim_cursor_start(&c, block, bytes, SG_MITER_TO_SG);
	while ((p = sim_cursor_next(&c, SIZE_MAX, &len))) {
		while (len) {
			size_t n;

			if (used == have) {
				sim_make_scans(st, st->bounce, k, per_bounce);
				k += per_bounce;
				have = (size_t)per_bounce * st->scan_bytes;
				used = 0;
			}
			n = min(len, have - used);
			memcpy(p, st->bounce + used, n);
			p += n;
			used += n;
			len -= n;
		}
	}
	sim_cursor_stop(&c);
}

static void sim_consume_block(struct sim_state *st,
			      struct iio_dma_buffer_block *block, size_t bytes)
{
	u64 hash = st->checksum;
	struct sim_cursor c;
	size_t len, i;
	u8 *p;

	sim_cursor_start(&c, block, bytes, SG_MITER_FROM_SG);
	while ((p = sim_cursor_next(&c, SIZE_MAX, &len))) {
		for (i = 0; i < len; i++) {
			hash ^= p[i];
			hash *= FNV1A64_PRIME;
		}
	}
	sim_cursor_stop(&c);

	spin_lock_irq(&st->lock);
	st->checksum = hash;
	st->consumed_bytes += bytes;
	spin_unlock_irq(&st->lock);
}

/* --- the simulated DMA controller ------------------------------------------- */

static unsigned int sim_slot_scans(struct sim_state *st, struct sim_slot *slot)
{
	return max_t(size_t, 1, slot->bytes / st->scan_bytes);
}

static void sim_finish_slot(struct sim_slot *slot, int error)
{
	if (slot->block)
		iio_dma_buffer_block_done(slot->block);
	else
		iio_buffer_signal_dmabuf_done(slot->fault_fence, error);
	kfree(slot);
}

static void sim_transfer(struct sim_state *st, struct sim_slot *slot, u64 k)
{
	if (!slot->block)
		return;
	if (st->unpaced) {
		if (st->model->direction == IIO_BUFFER_DIRECTION_OUT) {
			spin_lock_irq(&st->lock);
			st->consumed_bytes += slot->bytes;
			spin_unlock_irq(&st->lock);
		}
		return;
	}
	if (st->model->direction == IIO_BUFFER_DIRECTION_IN)
		sim_fill_block(st, slot->block, k, slot->bytes);
	else
		sim_consume_block(st, slot->block, slot->bytes);
}

/* Completes the head slot if it is still queued (not aborted meanwhile). */
static void sim_complete_head(struct sim_state *st, struct sim_slot *slot)
{
	bool done = true;

	mutex_lock(&st->work_lock);
	spin_lock_irq(&st->lock);
	if (list_first_entry_or_null(&st->slots, struct sim_slot, head) != slot) {
		spin_unlock_irq(&st->lock);
		goto out;
	}
	spin_unlock_irq(&st->lock);

	sim_transfer(st, slot, st->head_k);

	spin_lock_irq(&st->lock);
	st->next_k = st->head_k + sim_slot_scans(st, slot);
	st->head_k = st->next_k;
	if (slot->cyclic) {
		st->cyclic_repeats++;
		done = false;
	} else {
		list_del(&slot->head);
	}
	spin_unlock_irq(&st->lock);

	if (done)
		sim_finish_slot(slot, -EIO);
out:
	mutex_unlock(&st->work_lock);
}

static struct sim_slot *sim_head_slot(struct sim_state *st, ktime_t *deadline)
{
	struct sim_slot *slot;

	spin_lock_irq(&st->lock);
	st->kick = false;
	slot = list_first_entry_or_null(&st->slots, struct sim_slot, head);
	if (slot && st->stall)
		slot = NULL;
	if (slot)
		*deadline = st->unpaced ?
			ktime_add_us(slot->queued, st->unpaced_us) :
			sim_time_of(st, st->head_k + sim_slot_scans(st, slot));
	spin_unlock_irq(&st->lock);
	return slot;
}

static int sim_dma_thread(void *data)
{
	struct sim_state *st = data;
	struct sim_slot *slot;
	ktime_t deadline, now;

	/* Every wake-up re-reads the queue and the clock: nothing is assumed. */
	while (!kthread_should_stop()) {
		slot = sim_head_slot(st, &deadline);
		now = ktime_get();
		if (!slot)
			wait_event_interruptible(st->wq, st->kick ||
						 kthread_should_stop());
		else if (ktime_before(now, deadline))
			wait_event_interruptible_hrtimeout(st->wq,
				st->kick || kthread_should_stop(),
				ktime_sub(deadline, now));
		else
			sim_complete_head(st, slot);
	}
	return 0;
}

static void sim_kick(struct sim_state *st)
{
	st->kick = true;
	wake_up_interruptible(&st->wq);
}

static void sim_queue_slot(struct sim_state *st, struct sim_slot *slot)
{
	spin_lock_irq(&st->lock);
	if (list_empty(&st->slots))
		sim_start_idle(st);
	slot->queued = ktime_get();
	list_add_tail(&slot->head, &st->slots);
	sim_kick(st);
	spin_unlock_irq(&st->lock);
}

static bool sim_take_submit_fault(struct sim_state *st)
{
	bool fault = false;

	spin_lock_irq(&st->lock);
	if (st->fault_submit_blocks) {
		st->fault_submit_blocks--;
		fault = true;
	}
	spin_unlock_irq(&st->lock);
	return fault;
}

static int sim_submit(struct iio_dma_buffer_queue *queue,
		      struct iio_dma_buffer_block *block)
{
	struct sim_state *st = container_of(queue, struct sim_state, queue);
	struct sim_slot *slot;

	if (block->fileio && st->model->direction == IIO_BUFFER_DIRECTION_IN)
		block->bytes_used = rounddown(block->size, st->scan_bytes);
	if (!block->bytes_used)
		return -EINVAL;
	if (!block->fileio && sim_take_submit_fault(st))
		return -EIO;
	/* a DMA engine that needs contiguous memory fails the submit, and the
	 * error arrives on the fence, not at attach */
	if (!block->fileio && READ_ONCE(st->contiguous_only) &&
	    block->sg_table && block->sg_table->nents > 1)
		return -EIO;

	slot = kzalloc(sizeof(*slot), GFP_KERNEL);
	if (!slot)
		return -ENOMEM;
	slot->block = block;
	slot->bytes = block->bytes_used;
	/* mainline's dmaengine buffer never asks the DMA engine to repeat */
	slot->cyclic = block->cyclic && READ_ONCE(st->cyclic_repeat);
	sim_queue_slot(st, slot);
	return 0;
}

static void sim_abort(struct iio_dma_buffer_queue *queue)
{
	struct sim_state *st = container_of(queue, struct sim_state, queue);
	struct sim_slot *slot, *tmp;
	LIST_HEAD(slots);
	LIST_HEAD(blocks);

	mutex_lock(&st->work_lock);
	spin_lock_irq(&st->lock);
	list_splice_init(&st->slots, &slots);
	st->running = false;
	sim_kick(st);
	spin_unlock_irq(&st->lock);

	list_for_each_entry_safe(slot, tmp, &slots, head) {
		list_del(&slot->head);
		if (slot->block) {
			list_add_tail(&slot->block->head, &blocks);
			kfree(slot);
		} else {
			sim_finish_slot(slot, -EINTR);
		}
	}
	iio_dma_buffer_block_list_abort(queue, &blocks);
	mutex_unlock(&st->work_lock);
}

static const struct iio_dma_buffer_ops sim_dma_ops = {
	.submit = sim_submit,
	.abort = sim_abort,
};

/* --- buffer access: the DMA buffer core plus our start and fault hooks ------- */

static struct sim_state *sim_from_buffer(struct iio_buffer *buffer)
{
	return container_of(buffer, struct sim_state, queue.buffer);
}

static void sim_reset_counters(struct sim_state *st)
{
	st->t0 = ktime_get();
	st->next_k = 0;
	st->head_k = 0;
	st->lost_samples = 0;
	st->consumed_bytes = 0;
	st->checksum = FNV1A64_OFFSET;
	st->cyclic_repeats = 0;
	st->underflows = 0;
}

static int sim_buffer_enable(struct iio_buffer *buffer,
			     struct iio_dev *indio_dev)
{
	struct sim_state *st = sim_from_buffer(buffer);
	int ret;

	sim_compute_layout(st);
	spin_lock_irq(&st->lock);
	sim_reset_counters(st);
	st->running = true;
	st->enabling = true;
	spin_unlock_irq(&st->lock);

	ret = iio_dma_buffer_enable(buffer, indio_dev);

	spin_lock_irq(&st->lock);
	st->enabling = false;
	st->enable_count++;
	st->queued_at_enable = list_count_nodes(&st->slots);
	spin_unlock_irq(&st->lock);
	return ret;
}

/*
 * An armed fault takes the block's place in the stream and signals its fence
 * with -EIO when the block would have completed; the DMA core never sees it.
 */
static bool sim_take_fault(struct sim_state *st)
{
	bool fault = false;

	spin_lock_irq(&st->lock);
	if (st->fault_eio_blocks && st->running) {
		st->fault_eio_blocks--;
		fault = true;
	}
	spin_unlock_irq(&st->lock);
	return fault;
}

static int sim_enqueue_dmabuf(struct iio_buffer *buffer,
			      struct iio_dma_buffer_block *block,
			      struct dma_fence *fence, struct sg_table *sgt,
			      size_t size, bool cyclic)
{
	struct sim_state *st = sim_from_buffer(buffer);
	struct sim_slot *slot;

	if (READ_ONCE(st->gone))
		return -ENODEV;
	if (!sim_take_fault(st))
		return iio_dma_buffer_enqueue_dmabuf(buffer, block, fence, sgt,
						     size, cyclic);
	slot = kzalloc(sizeof(*slot), GFP_KERNEL);
	if (!slot)
		return -ENOMEM;
	slot->fault_fence = fence;
	slot->bytes = size;
	sim_queue_slot(st, slot);
	return 0;
}

static void sim_buffer_release(struct iio_buffer *buffer)
{
	struct sim_state *st = sim_from_buffer(buffer);

	iio_dma_buffer_release(&st->queue);
	kfree(st->bounce);
	kfree(st);
}

static const struct iio_buffer_access_funcs sim_buffer_access = {
	.read = iio_dma_buffer_read,
	.write = iio_dma_buffer_write,
	.set_bytes_per_datum = iio_dma_buffer_set_bytes_per_datum,
	.set_length = iio_dma_buffer_set_length,
	.request_update = iio_dma_buffer_request_update,
	.enable = sim_buffer_enable,
	.disable = iio_dma_buffer_disable,
	.data_available = iio_dma_buffer_usage,
	.space_available = iio_dma_buffer_usage,
	.release = sim_buffer_release,
	.enqueue_dmabuf = sim_enqueue_dmabuf,
	.attach_dmabuf = iio_dma_buffer_attach_dmabuf,
	.detach_dmabuf = iio_dma_buffer_detach_dmabuf,
	.lock_queue = iio_dma_buffer_lock_queue,
	.unlock_queue = iio_dma_buffer_unlock_queue,
	.get_dma_dev = iio_dma_buffer_get_dma_dev,
	.modes = INDIO_BUFFER_HARDWARE,
};

/* --- the kfifo model: a software buffer fed scan by scan -------------------- */

static void sim_kfifo_push(struct sim_state *st)
{
	unsigned int per_bounce = SIM_BOUNCE_SIZE / st->scan_bytes;
	u64 now = sim_now_k(st), k;
	unsigned int i, n;

	if (now <= st->next_k)
		return;
	if (!st->lossless && now - st->next_k > SIM_KFIFO_MAX_BURST) {
		st->lost_samples += now - SIM_KFIFO_MAX_BURST - st->next_k;
		st->next_k = now - SIM_KFIFO_MAX_BURST;
	}
	for (k = st->next_k; k < now; k += n) {
		n = min_t(u64, per_bounce, now - k);
		sim_make_scans(st, st->bounce, k, n);
		for (i = 0; i < n; i++) {
			if (!iio_push_to_buffers(st->indio_dev,
						 st->bounce + i * st->scan_bytes))
				continue;
			if (!st->lossless) {
				st->lost_samples++;
				continue;
			}
			/* full: sample k + i waits for the reader */
			st->next_k = k + i;
			sim_rebase(st, st->next_k);
			return;
		}
	}
	st->next_k = now;
}

static int sim_kfifo_thread(void *data)
{
	struct sim_state *st = data;

	while (!kthread_should_stop()) {
		wait_event_interruptible(st->wq, kthread_should_stop() ||
					 READ_ONCE(st->running));
		mutex_lock(&st->work_lock);
		if (st->running)
			sim_kfifo_push(st);
		mutex_unlock(&st->work_lock);
		usleep_range(SIM_KFIFO_PERIOD_NS / 1000,
			     2 * SIM_KFIFO_PERIOD_NS / 1000);
	}
	return 0;
}

static struct sim_state *sim_from_iio(struct iio_dev *indio_dev)
{
	return *(struct sim_state **)iio_priv(indio_dev);
}

static int sim_kfifo_postenable(struct iio_dev *indio_dev)
{
	struct sim_state *st = sim_from_iio(indio_dev);

	mutex_lock(&st->work_lock);
	sim_compute_layout(st);
	sim_reset_counters(st);
	WRITE_ONCE(st->running, true);
	mutex_unlock(&st->work_lock);
	wake_up_interruptible(&st->wq);
	return 0;
}

static int sim_kfifo_predisable(struct iio_dev *indio_dev)
{
	struct sim_state *st = sim_from_iio(indio_dev);

	mutex_lock(&st->work_lock);
	WRITE_ONCE(st->running, false);
	mutex_unlock(&st->work_lock);
	return 0;
}

static const struct iio_buffer_setup_ops sim_kfifo_setup_ops = {
	.postenable = sim_kfifo_postenable,
	.predisable = sim_kfifo_predisable,
};

/* --- the triggered model: one scan each time the trigger fires ------------- */

static irqreturn_t sim_trigger_handler(int irq, void *p)
{
	struct iio_poll_func *pf = p;
	struct iio_dev *indio_dev = pf->indio_dev;
	struct sim_state *st = sim_from_iio(indio_dev);

	mutex_lock(&st->work_lock);
	sim_make_scans(st, st->bounce, st->next_k++, 1);
	/* the timestamp is when the trigger fired, as drivers take it */
	iio_push_to_buffers_with_timestamp(indio_dev, st->bounce,
					   pf->timestamp);
	mutex_unlock(&st->work_lock);
	iio_trigger_notify_done(indio_dev->trig);
	return IRQ_HANDLED;
}

/* Before the trigger is attached: it may fire at once. */
static int sim_triggered_preenable(struct iio_dev *indio_dev)
{
	struct sim_state *st = sim_from_iio(indio_dev);

	mutex_lock(&st->work_lock);
	sim_compute_layout(st);
	sim_reset_counters(st);
	mutex_unlock(&st->work_lock);
	return 0;
}

static const struct iio_buffer_setup_ops sim_triggered_setup_ops = {
	.preenable = sim_triggered_preenable,
};

/* --- attributes -------------------------------------------------------------- */

static int sim_read_raw(struct iio_dev *indio_dev,
			struct iio_chan_spec const *chan,
			int *val, int *val2, long mask)
{
	struct sim_state *st = sim_from_iio(indio_dev);
	struct sim_element el = {
		.realbits = chan->scan_type.realbits,
		.channel = chan->channel,
	};

	switch (mask) {
	case IIO_CHAN_INFO_RAW:
		*val = sign_extend32(sim_sample(st, &el, sim_now_k(st)),
				     el.realbits - 1);
		return IIO_VAL_INT;
	case IIO_CHAN_INFO_SCALE:
		*val = 2500;	/* mV full scale */
		*val2 = chan->scan_type.realbits - 1;
		return IIO_VAL_FRACTIONAL_LOG2;
	case IIO_CHAN_INFO_SAMP_FREQ:
		*val = st->frequency;
		return IIO_VAL_INT;
	default:
		return -EINVAL;
	}
}

/* sampling_frequency_available: "[min step max]" */
static const int sim_frequency_range[] = { SIM_MIN_FREQUENCY, 1,
					   SIM_MAX_FREQUENCY };

static int sim_read_avail(struct iio_dev *indio_dev,
			  struct iio_chan_spec const *chan, const int **vals,
			  int *type, int *length, long mask)
{
	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	*vals = sim_frequency_range;
	*type = IIO_VAL_INT;
	*length = ARRAY_SIZE(sim_frequency_range);
	return IIO_AVAIL_RANGE;
}

static int sim_write_raw(struct iio_dev *indio_dev,
			 struct iio_chan_spec const *chan,
			 int val, int val2, long mask)
{
	struct sim_state *st = sim_from_iio(indio_dev);

	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	if (val < SIM_MIN_FREQUENCY || val > SIM_MAX_FREQUENCY || val2)
		return -EINVAL;
	if (iio_buffer_enabled(indio_dev))
		return -EBUSY;
	st->frequency = val;
	return 0;
}

#define SIM_DEV(dev) \
	sim_from_iio(dev_to_iio_dev(dev))

static ssize_t sim_show_u64(struct device *dev, u64 *field, char *buf,
			    const char *fmt)
{
	struct sim_state *st = SIM_DEV(dev);
	u64 v;

	spin_lock_irq(&st->lock);
	v = *field;
	spin_unlock_irq(&st->lock);
	return sysfs_emit(buf, fmt, v);
}

#define SIM_COUNTER(_name, _fmt)					\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	return sim_show_u64(dev, &SIM_DEV(dev)->_name, buf, _fmt);	\
}									\
static IIO_DEVICE_ATTR_RO(_name, 0)

SIM_COUNTER(lost_samples, "%llu\n");
SIM_COUNTER(consumed_bytes, "%llu\n");
SIM_COUNTER(checksum, "0x%016llx\n");
SIM_COUNTER(cyclic_repeats, "%llu\n");
SIM_COUNTER(underflows, "%llu\n");
SIM_COUNTER(enable_count, "%llu\n");
SIM_COUNTER(queued_at_enable, "%llu\n");

static ssize_t waveform_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n", SIM_DEV(dev)->sine ? "sine" : "ramp");
}

static ssize_t waveform_store(struct device *dev, struct device_attribute *attr,
			      const char *buf, size_t len)
{
	struct sim_state *st = SIM_DEV(dev);

	if (sysfs_streq(buf, "sine"))
		st->sine = true;
	else if (sysfs_streq(buf, "ramp"))
		st->sine = false;
	else
		return -EINVAL;
	return len;
}
static IIO_DEVICE_ATTR_RW(waveform, 0);

static ssize_t lossless_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%d\n", SIM_DEV(dev)->lossless);
}

static ssize_t lossless_store(struct device *dev, struct device_attribute *attr,
			      const char *buf, size_t len)
{
	struct sim_state *st = SIM_DEV(dev);
	bool lossless;
	int ret;

	ret = kstrtobool(buf, &lossless);
	if (ret)
		return ret;
	spin_lock_irq(&st->lock);
	st->lossless = lossless;
	spin_unlock_irq(&st->lock);
	return len;
}
static IIO_DEVICE_ATTR_RW(lossless, 0);

/* A count the user arms, e.g. fault_eio_blocks=N: the next N blocks fail. */
#define SIM_UINT_KNOB(_name)						\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%u\n", SIM_DEV(dev)->_name);		\
}									\
static ssize_t _name##_store(struct device *dev,			\
			     struct device_attribute *attr,		\
			     const char *buf, size_t len)		\
{									\
	struct sim_state *st = SIM_DEV(dev);				\
	unsigned int n;							\
	int ret = kstrtouint(buf, 0, &n);				\
									\
	if (ret)							\
		return ret;						\
	spin_lock_irq(&st->lock);					\
	st->_name = n;							\
	spin_unlock_irq(&st->lock);					\
	return len;							\
}									\
static IIO_DEVICE_ATTR_RW(_name, 0)

SIM_UINT_KNOB(fault_eio_blocks);
SIM_UINT_KNOB(fault_submit_blocks);
SIM_UINT_KNOB(cyclic_repeat);
SIM_UINT_KNOB(contiguous_only);
SIM_UINT_KNOB(unpaced);
SIM_UINT_KNOB(unpaced_us);

static ssize_t fault_stall_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", SIM_DEV(dev)->stall);
}

static ssize_t fault_stall_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t len)
{
	struct sim_state *st = SIM_DEV(dev);
	bool stall;
	int ret;

	ret = kstrtobool(buf, &stall);
	if (ret)
		return ret;
	spin_lock_irq(&st->lock);
	if (st->stall && !stall && !list_empty(&st->slots))
		sim_start_idle(st);	/* the stalled time is lost, or waited */
	st->stall = stall;
	sim_kick(st);
	spin_unlock_irq(&st->lock);
	return len;
}
static IIO_DEVICE_ATTR_RW(fault_stall, 0);

/* For debugging hangs: the converter's view of its queue. */
static ssize_t queue_state_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct sim_state *st = SIM_DEV(dev);
	struct sim_slot *slot;
	unsigned int n = 0;
	ssize_t len;

	spin_lock_irq(&st->lock);
	list_for_each_entry(slot, &st->slots, head)
		n++;
	len = sysfs_emit(buf, "slots %u running %d stall %d kick %d head_k %llu next_k %llu now_k %llu\n",
			 n, st->running, st->stall, st->kick, st->head_k,
			 st->next_k, st->running ? sim_now_k(st) : 0);
	spin_unlock_irq(&st->lock);
	return len;
}
static IIO_DEVICE_ATTR_RO(queue_state, 0);

static struct attribute *sim_adc_attrs[] = {
	&iio_dev_attr_queue_state.dev_attr.attr,
	&iio_dev_attr_fault_submit_blocks.dev_attr.attr,
	&iio_dev_attr_enable_count.dev_attr.attr,
	&iio_dev_attr_queued_at_enable.dev_attr.attr,
	&iio_dev_attr_lost_samples.dev_attr.attr,
	&iio_dev_attr_lossless.dev_attr.attr,
	&iio_dev_attr_waveform.dev_attr.attr,
	&iio_dev_attr_fault_eio_blocks.dev_attr.attr,
	&iio_dev_attr_fault_stall.dev_attr.attr,
	&iio_dev_attr_contiguous_only.dev_attr.attr,
	&iio_dev_attr_unpaced.dev_attr.attr,
	&iio_dev_attr_unpaced_us.dev_attr.attr,
	NULL
};

static struct attribute *sim_dac_attrs[] = {
	&iio_dev_attr_queue_state.dev_attr.attr,
	&iio_dev_attr_fault_submit_blocks.dev_attr.attr,
	&iio_dev_attr_enable_count.dev_attr.attr,
	&iio_dev_attr_queued_at_enable.dev_attr.attr,
	&iio_dev_attr_consumed_bytes.dev_attr.attr,
	&iio_dev_attr_checksum.dev_attr.attr,
	&iio_dev_attr_cyclic_repeats.dev_attr.attr,
	&iio_dev_attr_cyclic_repeat.dev_attr.attr,
	&iio_dev_attr_underflows.dev_attr.attr,
	&iio_dev_attr_fault_eio_blocks.dev_attr.attr,
	&iio_dev_attr_fault_stall.dev_attr.attr,
	&iio_dev_attr_contiguous_only.dev_attr.attr,
	&iio_dev_attr_unpaced.dev_attr.attr,
	&iio_dev_attr_unpaced_us.dev_attr.attr,
	NULL
};

static struct attribute *sim_kfifo_attrs[] = {
	&iio_dev_attr_lost_samples.dev_attr.attr,
	&iio_dev_attr_lossless.dev_attr.attr,
	&iio_dev_attr_waveform.dev_attr.attr,
	NULL
};

static const struct attribute_group sim_adc_group = { .attrs = sim_adc_attrs };
static const struct attribute_group sim_dac_group = { .attrs = sim_dac_attrs };
static const struct attribute_group sim_kfifo_group = {
	.attrs = sim_kfifo_attrs,
};

#define SIM_INFO(_group) {			\
	.read_raw = sim_read_raw,		\
	.read_avail = sim_read_avail,		\
	.write_raw = sim_write_raw,		\
	.attrs = &(_group),			\
}

static const struct iio_info sim_adc_info = SIM_INFO(sim_adc_group);
static const struct iio_info sim_dac_info = SIM_INFO(sim_dac_group);
static const struct iio_info sim_kfifo_info = SIM_INFO(sim_kfifo_group);
/* no sampling_frequency of its own: the trigger's rate is the rate */
static const struct iio_info sim_triggered_info = { };

static const struct sim_model sim_models[SIM_NUM_MODELS] = {
	[SIM_ADC] = {
		.name = "iio-sim-adc",
		.channels = sim_adc_channels,
		.num_channels = ARRAY_SIZE(sim_adc_channels),
		.direction = IIO_BUFFER_DIRECTION_IN,
		.dma = true,
		.default_frequency = 48000,
		.info = &sim_adc_info,
	},
	[SIM_ADC12] = {
		.name = "iio-sim-adc12",
		.channels = sim_adc12_channels,
		.num_channels = ARRAY_SIZE(sim_adc12_channels),
		.direction = IIO_BUFFER_DIRECTION_IN,
		.dma = true,
		.default_frequency = 48000,
		.info = &sim_adc_info,
	},
	[SIM_DAC] = {
		.name = "iio-sim-dac",
		.channels = sim_dac_channels,
		.num_channels = ARRAY_SIZE(sim_dac_channels),
		.direction = IIO_BUFFER_DIRECTION_OUT,
		.dma = true,
		.default_frequency = 48000,
		.info = &sim_dac_info,
	},
	[SIM_KFIFO] = {
		.name = "iio-sim-kfifo",
		.channels = sim_kfifo_channels,
		.num_channels = ARRAY_SIZE(sim_kfifo_channels),
		.direction = IIO_BUFFER_DIRECTION_IN,
		.dma = false,
		.default_frequency = 8000,
		.info = &sim_kfifo_info,
	},
	[SIM_TRIGGERED] = {
		.name = "iio-sim-triggered",
		.channels = sim_triggered_channels,
		.num_channels = ARRAY_SIZE(sim_triggered_channels),
		.direction = IIO_BUFFER_DIRECTION_IN,
		.triggered = true,
		.default_frequency = 1,
		.info = &sim_triggered_info,
	},
};

/* --- device life cycle --------------------------------------------------------- */

static void sim_stop(void *data)
{
	struct sim_state *st = data;

	if (st->thread)
		kthread_stop(st->thread);
	WRITE_ONCE(st->gone, true);
	if (st->model->dma) {
		iio_dma_buffer_exit(&st->queue);
		iio_buffer_put(&st->queue.buffer);	/* frees st when unused */
	} else {
		kfree(st->bounce);
		kfree(st);
	}
}

static struct sim_state *sim_state_alloc(struct device *dev,
					 const struct sim_model *model)
{
	struct sim_state *st;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return NULL;
	st->bounce = kmalloc(SIM_BOUNCE_SIZE, GFP_KERNEL);
	if (!st->bounce) {
		kfree(st);
		return NULL;
	}
	st->model = model;
	st->frequency = model->default_frequency;
	st->unpaced_us = 100;
	st->checksum = FNV1A64_OFFSET;
	init_waitqueue_head(&st->wq);
	mutex_init(&st->work_lock);
	spin_lock_init(&st->lock);
	INIT_LIST_HEAD(&st->slots);
	return st;
}

static int sim_setup_buffer(struct device *dev, struct iio_dev *indio_dev,
			    struct sim_state *st)
{
	if (st->model->triggered)
		return devm_iio_triggered_buffer_setup(dev, indio_dev,
						       iio_pollfunc_store_time,
						       sim_trigger_handler,
						       &sim_triggered_setup_ops);
	if (!st->model->dma)
		return devm_iio_kfifo_buffer_setup(dev, indio_dev,
						   &sim_kfifo_setup_ops);

	iio_dma_buffer_init(&st->queue, dev, &sim_dma_ops);
	st->queue.buffer.access = &sim_buffer_access;
	st->queue.buffer.direction = st->model->direction;
	indio_dev->modes |= INDIO_BUFFER_HARDWARE;
	return iio_device_attach_buffer(indio_dev, &st->queue.buffer);
}

static int sim_probe(struct platform_device *pdev)
{
	const struct sim_model *model;
	struct device *dev = &pdev->dev;
	struct iio_dev *indio_dev;
	struct sim_state *st;
	int ret;

	if (pdev->id < 0 || pdev->id >= SIM_NUM_MODELS)
		return -ENODEV;
	model = &sim_models[pdev->id];

	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;

	indio_dev = devm_iio_device_alloc(dev, sizeof(st));
	if (!indio_dev)
		return -ENOMEM;
	st = sim_state_alloc(dev, model);
	if (!st)
		return -ENOMEM;
	*(struct sim_state **)iio_priv(indio_dev) = st;
	st->indio_dev = indio_dev;

	indio_dev->name = model->name;
	indio_dev->channels = model->channels;
	indio_dev->num_channels = model->num_channels;
	indio_dev->info = model->info;
	indio_dev->modes = INDIO_DIRECT_MODE;

	if (!model->triggered)
		st->thread = kthread_run(model->dma ? sim_dma_thread :
					 sim_kfifo_thread, st, "%s", model->name);
	if (IS_ERR(st->thread)) {
		ret = PTR_ERR(st->thread);
		kfree(st->bounce);
		kfree(st);
		return ret;
	}
	ret = devm_add_action_or_reset(dev, sim_stop, st);
	if (ret)
		return ret;

	ret = sim_setup_buffer(dev, indio_dev, st);
	if (ret)
		return ret;

	return devm_iio_device_register(dev, indio_dev);
}

static struct platform_driver sim_driver = {
	.driver = {
		.name = SIM_DRIVER_NAME,
	},
	.probe = sim_probe,
};

static struct platform_device *sim_pdevs[SIM_NUM_MODELS];

static void sim_unregister_devices(void)
{
	int i;

	for (i = 0; i < SIM_NUM_MODELS; i++)
		if (!IS_ERR_OR_NULL(sim_pdevs[i]))
			platform_device_unregister(sim_pdevs[i]);
}

static int __init sim_init(void)
{
	int ret, i;

	ret = platform_driver_register(&sim_driver);
	if (ret)
		return ret;

	for (i = 0; i < SIM_NUM_MODELS; i++) {
		sim_pdevs[i] = platform_device_register_simple(SIM_DRIVER_NAME,
							       i, NULL, 0);
		if (IS_ERR(sim_pdevs[i])) {
			ret = PTR_ERR(sim_pdevs[i]);
			sim_unregister_devices();
			platform_driver_unregister(&sim_driver);
			return ret;
		}
	}
	return 0;
}

static void __exit sim_exit(void)
{
	sim_unregister_devices();
	platform_driver_unregister(&sim_driver);
}

module_init(sim_init);
module_exit(sim_exit);

MODULE_DESCRIPTION("Simulated IIO converters on the IIO DMA buffer core");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(IIO_DMA_BUFFER);
