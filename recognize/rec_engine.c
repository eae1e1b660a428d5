/*
 * rec_engine.c - finding an engine by name and choosing one for a --device
 * option (rec_engine.h): the one place that knows which engines are built.
 */
#include "rec_engine.h"

#include <string.h>

#include "util/util.h"

#ifdef DOCPIPE_CUDA
#include "rec_cuda.h"
#endif

int rec_engine_cuda_built(void)
{
#ifdef DOCPIPE_CUDA
    return 1;
#else
    return 0;
#endif
}

const rec_engine_ops *rec_engine_find(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "cpu") == 0)
        return &rec_engine_cpu_ops;
#ifdef DOCPIPE_CUDA
    if (strcmp(name, "cuda") == 0)
        return &rec_engine_cuda_ops;
#endif
    return NULL;
}

int rec_device_valid(const char *s)
{
    return !s || strcmp(s, "auto") == 0 || strcmp(s, "cpu") == 0 || strcmp(s, "cuda") == 0;
}

int rec_engine_open(const char *device, const rec_engine_opts *opts,
                    const rec_engine_ops **pops, rec_engine **peng)
{
    const rec_engine_ops *cuda = rec_engine_find("cuda");
    int rc;

    *pops = NULL;
    *peng = NULL;
    if (!device)
        device = "auto";
    if (!rec_device_valid(device)) {
        util_log(UTIL_LOG_ERROR, "no device called '%s' (auto, cpu or cuda)", device);
        return UTIL_EINVAL;
    }
    if (strcmp(device, "cuda") == 0) {
        if (!cuda) {
            util_log(UTIL_LOG_ERROR, "--device cuda: this docpipe was built without the CUDA "
                                     "engine (no CUDA toolkit/cuDNN at build time, or CUDA=0)");
            return UTIL_ENODEV;
        }
        if ((rc = cuda->create(peng, opts)))
            return rc;
        *pops = cuda;
        return UTIL_OK;
    }
    if (strcmp(device, "auto") == 0 && cuda) {
        int level = util_log_get_level();
        char why[256];
        util_log_set_level(-1);
        util_clear_error();
        rc = cuda->create(peng, opts);
        snprintf(why, sizeof why, "%s", util_last_error());
        util_clear_error();
        util_log_set_level(level);
        if (!rc) {
            util_log(UTIL_LOG_INFO, "docpipe: device auto: %s", cuda->describe(*peng));
            *pops = cuda;
            return UTIL_OK;
        }
        util_log(UTIL_LOG_INFO, "docpipe: device auto: cpu (%s)",
                 why[0] ? why : "the CUDA engine could not start");
    }
    if ((rc = rec_engine_cpu_ops.create(peng, opts)))
        return rc;
    *pops = &rec_engine_cpu_ops;
    return UTIL_OK;
}
