// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest IIO driver: one voltage channel that always reads 42. It shows
 * (and tests) how run-in-vm --module builds and loads a driver of your own.
 */

#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/iio/iio.h>

static const struct iio_chan_spec example_channels[] = {
	{
		.type = IIO_VOLTAGE,
		.indexed = 1,
		.channel = 0,
		.info_mask_separate = BIT(IIO_CHAN_INFO_RAW),
	},
};

static int example_read_raw(struct iio_dev *indio_dev,
			    struct iio_chan_spec const *chan,
			    int *val, int *val2, long mask)
{
	if (mask != IIO_CHAN_INFO_RAW)
		return -EINVAL;
	*val = 42;
	return IIO_VAL_INT;
}

static const struct iio_info example_info = {
	.read_raw = example_read_raw,
};

static int example_probe(struct platform_device *pdev)
{
	struct iio_dev *indio_dev;

	indio_dev = devm_iio_device_alloc(&pdev->dev, 0);
	if (!indio_dev)
		return -ENOMEM;
	indio_dev->name = "iio-example";
	indio_dev->channels = example_channels;
	indio_dev->num_channels = ARRAY_SIZE(example_channels);
	indio_dev->info = &example_info;
	indio_dev->modes = INDIO_DIRECT_MODE;
	return devm_iio_device_register(&pdev->dev, indio_dev);
}

static struct platform_driver example_driver = {
	.driver = { .name = "iio-example" },
	.probe = example_probe,
};

static struct platform_device *example_pdev;

static int __init example_init(void)
{
	int ret = platform_driver_register(&example_driver);

	if (ret)
		return ret;
	example_pdev = platform_device_register_simple("iio-example", -1,
						       NULL, 0);
	if (IS_ERR(example_pdev)) {
		platform_driver_unregister(&example_driver);
		return PTR_ERR(example_pdev);
	}
	return 0;
}

static void __exit example_exit(void)
{
	platform_device_unregister(example_pdev);
	platform_driver_unregister(&example_driver);
}

module_init(example_init);
module_exit(example_exit);

MODULE_DESCRIPTION("Minimal IIO driver for run-in-vm --module");
MODULE_LICENSE("GPL");
