// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated IIO converters for testing user space against the real IIO
 * buffer and DMABUF ABI.
 *
 * Three converters sit on mainline's own DMA buffer code as every ADI AXI
 * converter does (adi-axi-adc, axi-dac): each gets its buffer from
 * devm_iio_dmaengine_buffer_setup_ext() (industrialio-buffer-dmaengine and
 * industrialio-buffer-dma, loaded as they are), on a channel of
 * iio-sim-dmac, the software DMA controller that stands in for axi-dmac.
 * Only the hardware is ours: the converter's side of the DMA (the bytes a
 * FIFO would deliver or take, in real time at the sampling frequency).
 *
 *   iio-sim-adc    input, voltage0..3 le:s16/16>>0 and a timestamp
 *   iio-sim-adc12  input, voltage0..2 le:s12/16>>4
 *   iio-sim-dac    output, voltage0..1 le:s16/16>>0; CYCLIC as mainline's
 *                  dmaengine buffer treats it (played once), or repeated
 *                  by the DMA as ADI's kernel asks (cyclic_repeat=1)
 *   iio-sim-dac2   a second DAC like iio-sim-dac, on a DMA channel of its
 *                  own, present only while the module parameter second_dac
 *                  is 1 (tests of two outputs fed the same DMABUFs); the
 *                  other tests see the five converters as ever
 *
 * So their buffers are what mainline makes them: watermark read-only
 * (INDIO_BUFFER_FLAG_FIXED_WATERMARK, half the length), length_align_bytes
 * the DMA channel's bus width, DMABUF blocks on dma_vec, fileio blocks on
 * slave_sg.
 *
 * iio-sim-kfifo (input, voltage0..1 le:s16/16>>0) sits on a kfifo buffer:
 * read() only, no DMABUF. iio-sim-triggered (input, voltage0..1
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
 * Fault knobs. Of the DMA controller, as mainline then reports them:
 * fault_submit_blocks=N makes it refuse the next N DMABUF transfers (its
 * prep fails: the enqueue succeeds, the fence signals at once, the block
 * stays busy until its DMABUF is attached again); fault_abort_blocks=N makes
 * it abort the next N DMABUF transfers (6.12 applies the residue to
 * bytes_used, which DMABUF blocks do not report, and ignores the result: the
 * block completes as a success, its memory untouched); contiguous_only=1 makes it
 * refuse transfers in more than one piece (no scatter-gather);
 * irq_latency_us=N (the ADC) reports every transfer's end N microseconds
 * after it ended, as an interrupt serviced late on a busy system;
 * fault_stall=1 stops the converter until cleared. Of our own:
 * fault_enable=N makes the next N buffer enables fail with -EIO in the
 * converter's preenable, as a driver whose converter does not start (a
 * clock or PLL that does not lock): mainline's DMA buffer then submits
 * nothing, so DMABUF blocks queued before that enable stay queued, their
 * fences pending, for good (nothing in 6.12 aborts a block never
 * submitted: not a disable, a DETACH or closing the buffer fd).
 * fault_eio_blocks=N completes the next N DMABUF blocks with -EIO on their
 * fence. No 6.12 mainline driver does that through the dmaengine buffer (its
 * completion ignores the engine's result); it stands for a driver that
 * reports a transfer error, so that the elements' handling of a failed fence
 * (which the IIO core's interface allows) is tested. It wraps one function of
 * a copy of mainline's buffer access table taken at probe (every other
 * function and the flags are mainline's, by construction).
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
 * queued_at_enable (transfers queued on the DMA channel when the buffer was
 * last enabled). The DACs' sessions: one line for each of the last
 * SIM_SESSIONS enables, oldest first, "RATE SCAN_BYTES CONSUMED_BYTES
 * CHECKSUM" (what consumed_bytes and checksum were when the next enable
 * reset them; the last line as they are now), so that a stream played
 * across a disable, a new rate and an enable is checked whole; writing 0
 * clears it.
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
#include <linux/iio/buffer-dmaengine.h>
#include <linux/iio/buffer_impl.h>
#include <linux/iio/iio.h>
#include <linux/iio/kfifo_buf.h>
#include <linux/iio/sysfs.h>
#include <linux/iio/trigger.h>
#include <linux/iio/trigger_consumer.h>
#include <linux/iio/triggered_buffer.h>

#include "iio-sim-dmac.h"

#define SIM_DRIVER_NAME		"iio-sim"
#define SIM_MAX_SCAN_ELEMENTS	8
#define SIM_BOUNCE_SIZE		SZ_16K
#define SIM_KFIFO_PERIOD_NS	(NSEC_PER_MSEC)
#define SIM_KFIFO_MAX_BURST	65536
#define SIM_SESSIONS		8
#define FNV1A64_OFFSET		0xcbf29ce484222325ULL
#define FNV1A64_PRIME		0x100000001b3ULL

enum sim_model_id {
	SIM_ADC,
	SIM_ADC12,
	SIM_DAC,
	SIM_KFIFO,
	SIM_TRIGGERED,
	SIM_DAC2,		/* on demand: module parameter second_dac */
	SIM_NUM_MODELS,
};

struct sim_model {
	const char *name;
	const struct iio_chan_spec *channels;
	unsigned int num_channels;
	enum iio_buffer_direction direction;
	bool dma;
	bool triggered;
	bool on_demand;		/* not made at load (see second_dac) */
	unsigned int default_frequency;
	const struct iio_info *info;
};

/* What a DAC played between one enable and the next. */
struct sim_session {
	unsigned int frequency;
	unsigned int scan_bytes;
	u64 consumed_bytes;
	u64 checksum;
};

struct sim_element {
	unsigned int offset;
	unsigned int storage_bytes;
	unsigned int realbits;
	unsigned int shift;
	unsigned int channel;
	bool timestamp;
};

/* Device-managed: lives until the device is unbound. */
struct sim_state {
	struct device *dev;		/* the platform device: the DMA wiring */
	struct iio_dev *indio_dev;
	struct iio_buffer *buffer;	/* DMA models: mainline's buffer */
	const struct sim_model *model;
	struct task_struct *thread;	/* kfifo model */
	wait_queue_head_t wq;
	struct mutex work_lock;	/* kfifo and triggered: one producer */
	spinlock_t lock;	/* everything below */
	bool running;
	bool enabling;
	ktime_t t0;
	u64 next_k;		/* first sample not yet produced or consumed */
	u64 head_k;		/* first sample of the head transfer */
	unsigned int frequency;
	bool sine;
	bool lossless;
	unsigned int fault_eio_blocks;
	unsigned int fault_enable;	/* enables that fail (preenable) */
	unsigned int cyclic_repeat;	/* repeat CYCLIC blocks (ADI), or not */
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
	struct sim_session sessions[SIM_SESSIONS];	/* the last one open */
	unsigned int n_sessions;
	struct sim_element layout[SIM_MAX_SCAN_ELEMENTS];
	unsigned int layout_len;
	unsigned int scan_bytes;
	u8 *bounce;
	/* the transfer being moved (the DMA channel's thread only) */
	u64 move_k;
	size_t bounce_have, bounce_used;
};

static const struct sim_model sim_models[SIM_NUM_MODELS];

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

/* Moves the timeline so that sample @k is due at @at. */
static void sim_rebase_at(struct sim_state *st, u64 k, ktime_t at)
{
	st->t0 = ktime_sub_ns(at, mul_u64_u32_div(k, NSEC_PER_SEC,
						  st->frequency));
}

/* Moves the timeline so that sample @k is due now. */
static void sim_rebase(struct sim_state *st, u64 k)
{
	sim_rebase_at(st, k, ktime_get());
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

/* --- the converter's side of the DMA: iio-sim-dmac calls these ----------------- */

static unsigned int sim_scans(struct sim_state *st, size_t bytes)
{
	return max_t(size_t, 1, bytes / st->scan_bytes);
}

static void sim_periph_start(void *ctx)
{
	struct sim_state *st = ctx;

	spin_lock(&st->lock);
	sim_start_idle(st);
	spin_unlock(&st->lock);
}

/*
 * A lossless input's clock waits for user space: a block issued after the
 * one before it ended (the DMA worker only saw that one end later, as it
 * may on a loaded host) starts when it was issued, never earlier. Counting
 * it from the earlier end would complete it sooner than its own duration
 * after its submit, which no converter can do (the plugin takes that for a
 * failed submit). Called again with the same @issued, it changes nothing.
 */
static void sim_wait_for_block(struct sim_state *st, ktime_t issued)
{
	if (st->lossless && st->model->direction == IIO_BUFFER_DIRECTION_IN &&
	    ktime_after(issued, sim_time_of(st, st->head_k)))
		sim_rebase_at(st, st->head_k, issued);
}

static ktime_t sim_periph_due(void *ctx, size_t bytes, ktime_t issued)
{
	struct sim_state *st = ctx;
	ktime_t due;

	spin_lock(&st->lock);
	if (st->stall || !st->scan_bytes)
		due = KTIME_MAX;
	else if (st->unpaced)
		due = ktime_add_us(issued, st->unpaced_us);
	else {
		sim_wait_for_block(st, issued);
		due = sim_time_of(st, st->head_k + sim_scans(st, bytes));
	}
	spin_unlock(&st->lock);
	return due;
}

/* Produces the stream's next @len bytes from sample move_k on. */
static void sim_fill(struct sim_state *st, u8 *p, size_t len)
{
	unsigned int per_bounce = SIM_BOUNCE_SIZE / st->scan_bytes;
	size_t n;

	while (len) {
		if (st->bounce_used == st->bounce_have) {
			sim_make_scans(st, st->bounce, st->move_k, per_bounce);
			st->move_k += per_bounce;
			st->bounce_have = (size_t)per_bounce * st->scan_bytes;
			st->bounce_used = 0;
		}
		n = min(len, st->bounce_have - st->bounce_used);
		memcpy(p, st->bounce + st->bounce_used, n);
		st->bounce_used += n;
		p += n;
		len -= n;
	}
}

static void sim_consume(struct sim_state *st, const u8 *p, size_t len,
			bool hash)
{
	u64 sum = st->checksum;
	size_t i;

	for (i = 0; hash && i < len; i++) {
		sum ^= p[i];
		sum *= FNV1A64_PRIME;
	}
	spin_lock_irq(&st->lock);
	st->checksum = sum;
	st->consumed_bytes += len;
	spin_unlock_irq(&st->lock);
}

/* Only this thread changes checksum and move_k: read without the lock. */
static void sim_periph_move(void *ctx, void *buf, size_t len, bool first)
{
	struct sim_state *st = ctx;
	bool unpaced = READ_ONCE(st->unpaced);

	if (first) {
		spin_lock_irq(&st->lock);
		st->move_k = st->head_k;
		spin_unlock_irq(&st->lock);
		st->bounce_have = st->bounce_used = 0;
	}
	if (st->model->direction == IIO_BUFFER_DIRECTION_OUT)
		sim_consume(st, buf, len, !unpaced);
	else if (!unpaced)
		sim_fill(st, buf, len);
}

static void sim_periph_advance(void *ctx, size_t bytes, bool moved,
			       bool repeated)
{
	struct sim_state *st = ctx;

	spin_lock(&st->lock);
	st->next_k = st->head_k + sim_scans(st, bytes);
	st->head_k = st->next_k;
	if (repeated)
		st->cyclic_repeats++;
	spin_unlock(&st->lock);
}

/* ADI's dmaengine buffer asks the DMA to repeat a cyclic block; mainline's
 * never does (it submits every block with DMA_PREP_INTERRUPT only). */
static bool sim_periph_repeat(void *ctx, struct dma_async_tx_descriptor *tx)
{
	struct sim_state *st = ctx;
	struct iio_dma_buffer_block *block = tx->callback_param;

	return READ_ONCE(st->cyclic_repeat) && block && !block->fileio &&
	       block->cyclic;
}

static const struct sim_dmac_peripheral sim_periph_ops = {
	.start = sim_periph_start,
	.due = sim_periph_due,
	.move = sim_periph_move,
	.advance = sim_periph_advance,
	.repeat = sim_periph_repeat,
};

/* --- the DMA models' buffer: mainline's, with one hook for fault_eio_blocks ----- */

/*
 * A copy of mainline's access table (industrialio-buffer-dmaengine.c's
 * iio_dmaengine_buffer_ops) taken at the first probe, enqueue_dmabuf
 * wrapped. The wrapper finds its converter here; a buffer that outlives its
 * device's binding (unbind) passes straight through. The table lives in this
 * module: a buffer fd held across rmmod of iio-sim is not supported.
 */
static struct iio_buffer_access_funcs sim_access[SIM_NUM_MODELS];
static int (*sim_mainline_enqueue[SIM_NUM_MODELS])(struct iio_buffer *,
	struct iio_dma_buffer_block *, struct dma_fence *, struct sg_table *,
	size_t, bool);
static struct sim_state *sim_live[SIM_NUM_MODELS];
static DEFINE_SPINLOCK(sim_live_lock);

static int sim_model_of(struct iio_buffer *buffer)
{
	int i;

	for (i = 0; i < SIM_NUM_MODELS; i++)
		if (buffer->access == &sim_access[i])
			return i;
	return -1;
}

/*
 * An armed fault takes the block's place in the DMA's stream and signals
 * its fence with -EIO when the block would have completed (-EINTR if the
 * transfers are terminated first); mainline's DMA buffer never sees it.
 */
static void sim_fault_done(void *data, int error)
{
	struct dma_fence *fence = data;

	iio_buffer_signal_dmabuf_done(fence, error ? error : -EIO);
	dma_fence_put(fence);	/* the marker's own reference */
}

/*
 * Returns the converter's device, referenced, if a fault is armed and the
 * buffer is streaming (mainline's queue active: the caller holds its lock,
 * so the marker takes the block's place in order).
 */
static struct device *sim_take_eio_fault(struct iio_buffer *buffer, int model)
{
	struct iio_dma_buffer_queue *queue =
		container_of(buffer, struct iio_dma_buffer_queue, buffer);
	struct device *dev = NULL;
	struct sim_state *st;

	spin_lock_irq(&sim_live_lock);
	st = sim_live[model];
	if (st && st->buffer == buffer) {
		spin_lock(&st->lock);
		if (st->fault_eio_blocks && queue->active) {
			st->fault_eio_blocks--;
			dev = get_device(st->dev);
		}
		spin_unlock(&st->lock);
	}
	spin_unlock_irq(&sim_live_lock);
	return dev;
}

static int sim_enqueue_dmabuf(struct iio_buffer *buffer,
			      struct iio_dma_buffer_block *block,
			      struct dma_fence *fence, struct sg_table *sgt,
			      size_t size, bool cyclic)
{
	int model = sim_model_of(buffer);
	struct device *dev;
	int ret;

	if (model < 0)
		return -ENODEV;
	dev = sim_take_eio_fault(buffer, model);
	if (!dev)
		return sim_mainline_enqueue[model](buffer, block, fence, sgt,
						   size, cyclic);
	dma_fence_get(fence);	/* the resv may drop its own before the marker ends */
	ret = sim_dmac_queue_marker(dev, size, sim_fault_done, fence);
	if (ret)
		dma_fence_put(fence);
	put_device(dev);
	return ret;
}

static void sim_unpublish(void *data)
{
	struct sim_state *st = data;

	spin_lock_irq(&sim_live_lock);
	sim_live[st->model - sim_models] = NULL;
	spin_unlock_irq(&sim_live_lock);
}

static void sim_disconnect(void *data)
{
	sim_dmac_disconnect(data);
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

static struct sim_state *sim_from_iio(struct iio_dev *indio_dev)
{
	return *(struct sim_state **)iio_priv(indio_dev);
}

/* An enable: the session before it is closed with the counters it ends
 * with, and a new one begins (the oldest is dropped when the log is full). */
static void sim_log_session(struct sim_state *st)
{
	struct sim_session *last;

	if (st->n_sessions) {
		last = &st->sessions[st->n_sessions - 1];
		last->consumed_bytes = st->consumed_bytes;
		last->checksum = st->checksum;
	}
	if (st->n_sessions == SIM_SESSIONS) {
		memmove(st->sessions, st->sessions + 1,
			sizeof(st->sessions[0]) * (SIM_SESSIONS - 1));
		st->n_sessions--;
	}
	st->sessions[st->n_sessions++] = (struct sim_session) {
		.frequency = st->frequency,
		.scan_bytes = st->scan_bytes,
	};
}

/* Before mainline's enable submits the queued blocks: the clock restarts. */
static int sim_dma_preenable(struct iio_dev *indio_dev)
{
	struct sim_state *st = sim_from_iio(indio_dev);

	spin_lock_irq(&st->lock);
	if (st->fault_enable) {
		st->fault_enable--;
		spin_unlock_irq(&st->lock);
		return -EIO;
	}
	sim_compute_layout(st);
	if (st->model->direction == IIO_BUFFER_DIRECTION_OUT)
		sim_log_session(st);
	sim_reset_counters(st);
	st->running = true;
	st->enabling = true;
	spin_unlock_irq(&st->lock);
	return 0;
}

static int sim_dma_postenable(struct iio_dev *indio_dev)
{
	struct sim_state *st = sim_from_iio(indio_dev);
	unsigned int queued = sim_dmac_queued(st->dev);

	spin_lock_irq(&st->lock);
	st->enabling = false;
	st->enable_count++;
	st->queued_at_enable = queued;
	spin_unlock_irq(&st->lock);
	return 0;
}

static int sim_dma_postdisable(struct iio_dev *indio_dev)
{
	struct sim_state *st = sim_from_iio(indio_dev);

	spin_lock_irq(&st->lock);
	st->running = false;
	st->enabling = false;
	spin_unlock_irq(&st->lock);
	return 0;
}

static const struct iio_buffer_setup_ops sim_dma_setup_ops = {
	.preenable = sim_dma_preenable,
	.postenable = sim_dma_postenable,
	.postdisable = sim_dma_postdisable,
};

/* As adi-axi-adc and axi-dac do, then our one hook. */
static int sim_setup_dma_buffer(struct device *dev, struct iio_dev *indio_dev,
				struct sim_state *st)
{
	int model = st->model - sim_models;
	int ret;

	ret = sim_dmac_connect(dev, &sim_periph_ops, st);
	if (ret)
		return ret;
	ret = devm_add_action_or_reset(dev, sim_disconnect, dev);
	if (ret)
		return ret;
	indio_dev->setup_ops = &sim_dma_setup_ops;
	ret = devm_iio_dmaengine_buffer_setup_ext(dev, indio_dev,
		st->model->direction == IIO_BUFFER_DIRECTION_IN ? "rx" : "tx",
		st->model->direction);
	if (ret)
		return ret;

	st->buffer = indio_dev->buffer;
	/* taken once: a buffer of an earlier binding may still read it */
	if (!sim_mainline_enqueue[model]) {
		sim_access[model] = *st->buffer->access;
		sim_mainline_enqueue[model] = st->buffer->access->enqueue_dmabuf;
		sim_access[model].enqueue_dmabuf = sim_enqueue_dmabuf;
	}
	st->buffer->access = &sim_access[model];
	spin_lock_irq(&sim_live_lock);
	sim_live[model] = st;
	spin_unlock_irq(&sim_live_lock);
	return devm_add_action_or_reset(dev, sim_unpublish, st);
}

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
SIM_UINT_KNOB(fault_enable);
SIM_UINT_KNOB(cyclic_repeat);
SIM_UINT_KNOB(unpaced);
SIM_UINT_KNOB(unpaced_us);

/* Faults of the DMA controller: the knob is on the converter it serves. */
#define SIM_DMAC_KNOB(_name, _fault)					\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%u\n",					\
			  sim_dmac_armed(SIM_DEV(dev)->dev, _fault));	\
}									\
static ssize_t _name##_store(struct device *dev,			\
			     struct device_attribute *attr,		\
			     const char *buf, size_t len)		\
{									\
	unsigned int n;							\
	int ret = kstrtouint(buf, 0, &n);				\
									\
	if (ret)							\
		return ret;						\
	sim_dmac_arm(SIM_DEV(dev)->dev, _fault, n);			\
	return len;							\
}									\
static IIO_DEVICE_ATTR_RW(_name, 0)

SIM_DMAC_KNOB(fault_submit_blocks, SIM_DMAC_REFUSE);
SIM_DMAC_KNOB(fault_abort_blocks, SIM_DMAC_ABORT);

static ssize_t contiguous_only_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  sim_dmac_contiguous_only(SIM_DEV(dev)->dev));
}

static ssize_t contiguous_only_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t len)
{
	bool only;
	int ret = kstrtobool(buf, &only);

	if (ret)
		return ret;
	sim_dmac_set_contiguous_only(SIM_DEV(dev)->dev, only);
	return len;
}
static IIO_DEVICE_ATTR_RW(contiguous_only, 0);

static ssize_t irq_latency_us_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", sim_dmac_irq_latency(SIM_DEV(dev)->dev));
}

static ssize_t irq_latency_us_store(struct device *dev,
				    struct device_attribute *attr,
				    const char *buf, size_t len)
{
	unsigned int us;
	int ret = kstrtouint(buf, 0, &us);

	if (ret)
		return ret;
	if (us > USEC_PER_SEC)
		return -EINVAL;
	sim_dmac_set_irq_latency(SIM_DEV(dev)->dev, us);
	return len;
}
static IIO_DEVICE_ATTR_RW(irq_latency_us, 0);

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
	bool stall, busy;
	int ret;

	ret = kstrtobool(buf, &stall);
	if (ret)
		return ret;
	busy = sim_dmac_queued(st->dev) > 0;
	spin_lock_irq(&st->lock);
	if (st->stall && !stall && busy)
		sim_start_idle(st);	/* the stalled time is lost, or waited */
	st->stall = stall;
	spin_unlock_irq(&st->lock);
	sim_dmac_kick(st->dev);
	return len;
}
static IIO_DEVICE_ATTR_RW(fault_stall, 0);

static ssize_t sessions_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	struct sim_state *st = SIM_DEV(dev);
	struct sim_session s;
	ssize_t len = 0;
	unsigned int i;

	spin_lock_irq(&st->lock);
	for (i = 0; i < st->n_sessions; i++) {
		s = st->sessions[i];
		if (i == st->n_sessions - 1) {
			s.consumed_bytes = st->consumed_bytes;
			s.checksum = st->checksum;
		}
		len += sysfs_emit_at(buf, len, "%u %u %llu 0x%016llx\n",
				     s.frequency, s.scan_bytes,
				     s.consumed_bytes, s.checksum);
	}
	spin_unlock_irq(&st->lock);
	return len;
}

static ssize_t sessions_store(struct device *dev,
			      struct device_attribute *attr,
			      const char *buf, size_t len)
{
	struct sim_state *st = SIM_DEV(dev);

	if (!sysfs_streq(buf, "0"))
		return -EINVAL;
	spin_lock_irq(&st->lock);
	st->n_sessions = 0;
	spin_unlock_irq(&st->lock);
	return len;
}
static IIO_DEVICE_ATTR_RW(sessions, 0);

/* For debugging hangs: the converter's view of its queue. */
static ssize_t queue_state_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct sim_state *st = SIM_DEV(dev);
	unsigned int n = sim_dmac_queued(st->dev);
	ssize_t len;

	spin_lock_irq(&st->lock);
	len = sysfs_emit(buf, "queued %u running %d stall %d head_k %llu next_k %llu now_k %llu\n",
			 n, st->running, st->stall, st->head_k,
			 st->next_k, st->running ? sim_now_k(st) : 0);
	spin_unlock_irq(&st->lock);
	return len;
}
static IIO_DEVICE_ATTR_RO(queue_state, 0);

static struct attribute *sim_adc_attrs[] = {
	&iio_dev_attr_queue_state.dev_attr.attr,
	&iio_dev_attr_fault_submit_blocks.dev_attr.attr,
	&iio_dev_attr_fault_abort_blocks.dev_attr.attr,
	&iio_dev_attr_enable_count.dev_attr.attr,
	&iio_dev_attr_queued_at_enable.dev_attr.attr,
	&iio_dev_attr_lost_samples.dev_attr.attr,
	&iio_dev_attr_lossless.dev_attr.attr,
	&iio_dev_attr_waveform.dev_attr.attr,
	&iio_dev_attr_fault_eio_blocks.dev_attr.attr,
	&iio_dev_attr_fault_enable.dev_attr.attr,
	&iio_dev_attr_fault_stall.dev_attr.attr,
	&iio_dev_attr_contiguous_only.dev_attr.attr,
	&iio_dev_attr_irq_latency_us.dev_attr.attr,
	&iio_dev_attr_unpaced.dev_attr.attr,
	&iio_dev_attr_unpaced_us.dev_attr.attr,
	NULL
};

static struct attribute *sim_dac_attrs[] = {
	&iio_dev_attr_queue_state.dev_attr.attr,
	&iio_dev_attr_fault_submit_blocks.dev_attr.attr,
	&iio_dev_attr_fault_abort_blocks.dev_attr.attr,
	&iio_dev_attr_enable_count.dev_attr.attr,
	&iio_dev_attr_queued_at_enable.dev_attr.attr,
	&iio_dev_attr_consumed_bytes.dev_attr.attr,
	&iio_dev_attr_checksum.dev_attr.attr,
	&iio_dev_attr_sessions.dev_attr.attr,
	&iio_dev_attr_cyclic_repeats.dev_attr.attr,
	&iio_dev_attr_cyclic_repeat.dev_attr.attr,
	&iio_dev_attr_underflows.dev_attr.attr,
	&iio_dev_attr_fault_eio_blocks.dev_attr.attr,
	&iio_dev_attr_fault_enable.dev_attr.attr,
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
	[SIM_DAC2] = {
		.name = "iio-sim-dac2",
		.channels = sim_dac_channels,
		.num_channels = ARRAY_SIZE(sim_dac_channels),
		.direction = IIO_BUFFER_DIRECTION_OUT,
		.dma = true,
		.on_demand = true,
		.default_frequency = 48000,
		.info = &sim_dac_info,
	},
};

/* --- device life cycle --------------------------------------------------------- */

static void sim_stop_thread(void *data)
{
	kthread_stop(data);
}

static struct sim_state *sim_state_alloc(struct device *dev,
					 const struct sim_model *model)
{
	struct sim_state *st;

	st = devm_kzalloc(dev, sizeof(*st), GFP_KERNEL);
	if (!st)
		return NULL;
	st->bounce = devm_kmalloc(dev, SIM_BOUNCE_SIZE, GFP_KERNEL);
	if (!st->bounce)
		return NULL;
	st->dev = dev;
	st->model = model;
	st->frequency = model->default_frequency;
	st->unpaced_us = 100;
	st->checksum = FNV1A64_OFFSET;
	init_waitqueue_head(&st->wq);
	mutex_init(&st->work_lock);
	spin_lock_init(&st->lock);
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
	if (st->model->dma)
		return sim_setup_dma_buffer(dev, indio_dev, st);

	st->thread = kthread_run(sim_kfifo_thread, st, "%s", st->model->name);
	if (IS_ERR(st->thread))
		return PTR_ERR(st->thread);
	return devm_add_action_or_reset(dev, sim_stop_thread, st->thread) ?:
	       devm_iio_kfifo_buffer_setup(dev, indio_dev,
					   &sim_kfifo_setup_ops);
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
static DEFINE_MUTEX(sim_pdevs_lock);	/* the on-demand ones */

static void sim_unregister_devices(void)
{
	int i;

	mutex_lock(&sim_pdevs_lock);
	for (i = 0; i < SIM_NUM_MODELS; i++) {
		if (!IS_ERR_OR_NULL(sim_pdevs[i]))
			platform_device_unregister(sim_pdevs[i]);
		sim_pdevs[i] = NULL;
	}
	mutex_unlock(&sim_pdevs_lock);
}

/*
 * second_dac=1 makes iio-sim-dac2 (platform device iio-sim.5, wired to a
 * DMA channel of its own in iio-sim-dmac), second_dac=0 removes it again,
 * as an unbind does. Written at run time:
 * /sys/module/iio_sim/parameters/second_dac.
 */
static bool sim_driver_registered;

static int sim_second_dac_set(const char *val, const struct kernel_param *kp)
{
	struct platform_device *pdev;
	bool on;
	int ret = kstrtobool(val, &on);

	if (ret)
		return ret;
	mutex_lock(&sim_pdevs_lock);
	if (!sim_driver_registered) {
		ret = -EAGAIN;	/* at load: only at run time */
	} else if (on && !sim_pdevs[SIM_DAC2]) {
		pdev = platform_device_register_simple(SIM_DRIVER_NAME,
						       SIM_DAC2, NULL, 0);
		if (IS_ERR(pdev))
			ret = PTR_ERR(pdev);
		else
			sim_pdevs[SIM_DAC2] = pdev;
	} else if (!on && sim_pdevs[SIM_DAC2]) {
		platform_device_unregister(sim_pdevs[SIM_DAC2]);
		sim_pdevs[SIM_DAC2] = NULL;
	}
	mutex_unlock(&sim_pdevs_lock);
	return ret;
}

static int sim_second_dac_get(char *buf, const struct kernel_param *kp)
{
	bool on;

	mutex_lock(&sim_pdevs_lock);
	on = sim_pdevs[SIM_DAC2] != NULL;
	mutex_unlock(&sim_pdevs_lock);
	return scnprintf(buf, PAGE_SIZE, "%d\n", on);
}

static const struct kernel_param_ops sim_second_dac_ops = {
	.set = sim_second_dac_set,
	.get = sim_second_dac_get,
};
module_param_cb(second_dac, &sim_second_dac_ops, NULL, 0644);
MODULE_PARM_DESC(second_dac, "1: iio-sim-dac2, a second DAC, exists");

static int __init sim_init(void)
{
	struct platform_device *pdev;
	int ret, i;

	ret = platform_driver_register(&sim_driver);
	if (ret)
		return ret;

	mutex_lock(&sim_pdevs_lock);
	for (i = 0; i < SIM_NUM_MODELS; i++) {
		if (sim_models[i].on_demand)
			continue;
		pdev = platform_device_register_simple(SIM_DRIVER_NAME, i,
						       NULL, 0);
		if (IS_ERR(pdev)) {
			mutex_unlock(&sim_pdevs_lock);
			sim_unregister_devices();
			platform_driver_unregister(&sim_driver);
			return PTR_ERR(pdev);
		}
		sim_pdevs[i] = pdev;
	}
	sim_driver_registered = true;
	mutex_unlock(&sim_pdevs_lock);
	return 0;
}

static void __exit sim_exit(void)
{
	mutex_lock(&sim_pdevs_lock);
	sim_driver_registered = false;
	mutex_unlock(&sim_pdevs_lock);
	sim_unregister_devices();
	platform_driver_unregister(&sim_driver);
}

module_init(sim_init);
module_exit(sim_exit);

MODULE_DESCRIPTION("Simulated IIO converters on mainline's IIO DMA buffers");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(IIO_DMA_BUFFER);
MODULE_IMPORT_NS(IIO_DMAENGINE_BUFFER);
