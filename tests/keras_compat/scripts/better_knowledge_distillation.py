"""Keras 3 example "Knowledge distillation recipes"
(keras-team/keras-io examples/keras_recipes/better_knowledge_distillation.py), re-created for Lamina.

Function matching: a student `ResNet50V2` (`keras.applications`, no weights)
trained to match a frozen teacher on mixed-up, randomly cropped and flipped
images, by a `Distiller` model with its own `compile`, `metrics`, `train_step`
and `test_step`, a `LearningRateSchedule` subclass for warm-up cosine decay,
and `AdamW` with gradient clipping. The original runs on the TensorFlow backend;
ported to backend-agnostic or PyTorch counterparts: the `tf.data` pipelines (a
PyTorch `DataLoader` mapping each image, then mixing each training batch), the
`tf.image` / `tf.random` / `tf.reverse` / `tf.nn.softmax` / `tf.cos` / `tf.where`
calls (`keras.ops`, `keras.random` and the `RandomCrop` / `RandomFlip` layers),
and the `tf.GradientTape` step (the PyTorch step of the keras-io guide
`custom_train_step_in_torch`). Not ported: the downloads (Flowers102 through
`tensorflow_datasets`; the teacher and the 1000-epoch student, TensorFlow
SavedModels loaded with `TFSMLayer`): local images stand in for the dataset, an
untrained local model for the teacher, and the last section, which evaluates the
downloaded student, is left out.
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # lamina-compat: backend (the original selects "tensorflow")

import matplotlib.pyplot as plt
import numpy as np
import torch  # lamina-compat: import (the PyTorch train step and DataLoader instead of tf)

import lamina as keras  # lamina-compat: import
from lamina import ops  # lamina-compat: import

BATCH_SIZE = 64

TEMPERATURE = 10
INIT_LR = 0.003
WEIGHT_DECAY = 0.001
CLIP_THRESHOLD = 1.0

BIGGER = 160
RESIZE = 128

# lamina-compat: data (Flowers102-like uint8 images and int64 labels instead of tfds.load("oxford_flowers102"))
_rng = np.random.default_rng(0)
train_ds = [(_rng.integers(0, 256, (200, 180, 3), dtype=np.uint8), np.int64(i % 102)) for i in range(26)]
validation_ds = [(_rng.integers(0, 256, (180, 200, 3), dtype=np.uint8), np.int64(i % 102)) for i in range(8)]
test_ds = [(_rng.integers(0, 256, (190, 190, 3), dtype=np.uint8), np.int64(i % 102)) for i in range(8)]
print(f"Number of training examples: {len(train_ds)}.")  # lamina-compat: data (train_ds.cardinality())
print(f"Number of validation examples: {len(validation_ds)}.")  # lamina-compat: data
print(f"Number of test examples: {len(test_ds)}.")  # lamina-compat: data

# lamina-compat: data (a local, untrained model instead of the downloaded teacher SavedModel in a TFSMLayer)
teacher_model = keras.Sequential(
    [keras.Input(shape=(RESIZE, RESIZE, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(102)]
)
teacher_model.trainable = False


def mixup(images, labels):
    alpha = keras.random.uniform([], 0, 1)  # lamina-compat: backend-agnostic (tf.random.uniform)
    mixedup_images = alpha * images + (1 - alpha) * ops.flip(images, axis=0)  # lamina-compat: backend-agnostic (tf.reverse)
    return mixedup_images, labels


def preprocess_image(image, label, train=True):
    image = ops.cast(image, "float32") / 255.0  # lamina-compat: backend-agnostic (tf.cast)

    if train:
        image = ops.image.resize(image, (BIGGER, BIGGER))  # lamina-compat: backend-agnostic (tf.image.resize)
        image = keras.layers.RandomCrop(RESIZE, RESIZE)(image, training=True)  # lamina-compat: backend-agnostic (tf.image.random_crop)
        image = keras.layers.RandomFlip("horizontal")(image, training=True)  # lamina-compat: backend-agnostic (tf.image.random_flip_left_right)
    else:
        # lamina-compat: backend-agnostic (tf.image.central_crop(image, central_fraction=0.875))
        height, width = ops.shape(image)[0], ops.shape(image)[1]
        top, left = int((height - height * 0.875) / 2), int((width - width * 0.875) / 2)
        image = ops.image.crop_images(
            image, top_cropping=top, left_cropping=left, bottom_cropping=top, right_cropping=left
        )
        image = ops.image.resize(image, (RESIZE, RESIZE))  # lamina-compat: backend-agnostic (tf.image.resize)

    return image, label


def prepare_dataset(dataset, train=True, batch_size=BATCH_SIZE):
    # lamina-compat: data (a DataLoader that maps, shuffles, batches and mixes instead of tf.data)
    def collate(samples):
        images, labels = torch.utils.data.default_collate(
            [preprocess_image(image, label, train) for image, label in samples]
        )
        return mixup(images, labels) if train else (images, labels)

    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=train, collate_fn=collate)


train_ds = prepare_dataset(train_ds, True)
validation_ds = prepare_dataset(validation_ds, False)
test_ds = prepare_dataset(test_ds, False)

sample_images, _ = next(iter(train_ds))
plt.figure(figsize=(10, 10))
for n in range(25):
    ax = plt.subplot(5, 5, n + 1)
    plt.imshow(sample_images[n].numpy())
    plt.axis("off")
plt.show()


def get_resnetv2():
    resnet_v2 = keras.applications.ResNet50V2(
        weights=None,
        input_shape=(RESIZE, RESIZE, 3),
        classes=102,
        classifier_activation="linear",
    )
    return resnet_v2


get_resnetv2().count_params()


class Distiller(keras.Model):
    def __init__(self, student, teacher):
        super().__init__()
        self.student = student
        self.teacher = teacher
        self.loss_tracker = keras.metrics.Mean(name="distillation_loss")

    @property
    def metrics(self):
        metrics = super().metrics
        metrics.append(self.loss_tracker)
        return metrics

    def compile(
        self,
        optimizer,
        metrics,
        distillation_loss_fn,
        temperature=TEMPERATURE,
    ):
        super().compile(optimizer=optimizer, metrics=metrics)
        self.distillation_loss_fn = distillation_loss_fn
        self.temperature = temperature

    def train_step(self, data):
        x, _ = data

        teacher_predictions = self.teacher(x, training=False)

        # lamina-compat: torch step (the original records the student's forward pass on tf.GradientTape)
        self.zero_grad()
        student_predictions = self.student(x, training=True)

        distillation_loss = self.distillation_loss_fn(
            ops.softmax(teacher_predictions / self.temperature, axis=1),  # lamina-compat: backend-agnostic (tf.nn.softmax)
            ops.softmax(student_predictions / self.temperature, axis=1),  # lamina-compat: backend-agnostic (tf.nn.softmax)
        )

        trainable_vars = self.student.trainable_variables
        distillation_loss.backward()  # lamina-compat: torch step (tape.gradient)
        gradients = [v.value.grad for v in trainable_vars]  # lamina-compat: torch step

        with torch.no_grad():  # lamina-compat: torch step
            self.optimizer.apply_gradients(zip(gradients, trainable_vars))

        self.loss_tracker.update_state(distillation_loss)
        return {"distillation_loss": self.loss_tracker.result()}

    def test_step(self, data):
        x, y = data

        teacher_predictions = self.teacher(x, training=False)
        student_predictions = self.student(x, training=False)

        distillation_loss = self.distillation_loss_fn(
            ops.softmax(teacher_predictions / self.temperature, axis=1),  # lamina-compat: backend-agnostic (tf.nn.softmax)
            ops.softmax(student_predictions / self.temperature, axis=1),  # lamina-compat: backend-agnostic (tf.nn.softmax)
        )

        self.loss_tracker.update_state(distillation_loss)
        self.compiled_metrics.update_state(y, student_predictions)
        results = {m.name: m.result() for m in self.metrics}
        return results


class WarmUpCosine(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(
        self, learning_rate_base, total_steps, warmup_learning_rate, warmup_steps
    ):
        super().__init__()

        self.learning_rate_base = learning_rate_base
        self.total_steps = total_steps
        self.warmup_learning_rate = warmup_learning_rate
        self.warmup_steps = warmup_steps
        self.pi = ops.convert_to_tensor(np.pi)  # lamina-compat: backend-agnostic (tf.constant)

    def __call__(self, step):
        if self.total_steps < self.warmup_steps:
            raise ValueError("Total_steps must be larger or equal to warmup_steps.")

        cos_annealed_lr = ops.cos(  # lamina-compat: backend-agnostic (tf.cos, tf.cast)
            self.pi
            * (ops.cast(step, "float32") - self.warmup_steps)
            / float(self.total_steps - self.warmup_steps)
        )
        learning_rate = 0.5 * self.learning_rate_base * (1 + cos_annealed_lr)

        if self.warmup_steps > 0:
            if self.learning_rate_base < self.warmup_learning_rate:
                raise ValueError(
                    "Learning_rate_base must be larger or equal to "
                    "warmup_learning_rate."
                )
            slope = (
                self.learning_rate_base - self.warmup_learning_rate
            ) / self.warmup_steps
            warmup_rate = slope * ops.cast(step, "float32") + self.warmup_learning_rate  # lamina-compat: backend-agnostic (tf.cast)
            learning_rate = ops.where(  # lamina-compat: backend-agnostic (tf.where)
                step < self.warmup_steps, warmup_rate, learning_rate
            )
        return ops.where(  # lamina-compat: backend-agnostic (tf.where(..., name="learning_rate"))
            step > self.total_steps, 0.0, learning_rate
        )


ARTIFICIAL_EPOCHS = 1000
ARTIFICIAL_BATCH_SIZE = 512
DATASET_NUM_TRAIN_EXAMPLES = 1020
TOTAL_STEPS = int(
    DATASET_NUM_TRAIN_EXAMPLES / ARTIFICIAL_BATCH_SIZE * ARTIFICIAL_EPOCHS
)
scheduled_lrs = WarmUpCosine(
    learning_rate_base=INIT_LR,
    total_steps=TOTAL_STEPS,
    warmup_learning_rate=0.0,
    warmup_steps=1500,
)

lrs = [scheduled_lrs(step) for step in range(TOTAL_STEPS)]
plt.plot(lrs)
plt.xlabel("Step", fontsize=14)
plt.ylabel("LR", fontsize=14)
plt.show()

optimizer = keras.optimizers.AdamW(
    weight_decay=WEIGHT_DECAY, learning_rate=scheduled_lrs, clipnorm=CLIP_THRESHOLD
)

student_model = get_resnetv2()

distiller = Distiller(student=student_model, teacher=teacher_model)
distiller.compile(
    optimizer,
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
    distillation_loss_fn=keras.losses.KLDivergence(),
    temperature=TEMPERATURE,
)

history = distiller.fit(
    train_ds,
    steps_per_epoch=int(np.ceil(DATASET_NUM_TRAIN_EXAMPLES / BATCH_SIZE)),
    validation_data=validation_ds,
    epochs=1,  # lamina-compat: data (epochs=30)
)

student = distiller.student
student_model.compile(metrics=["accuracy"])
_, top1_accuracy = student.evaluate(test_ds)
print(f"Top-1 accuracy on the test set: {round(top1_accuracy * 100, 2)}%")
